"""Several workers' schedulers on one PostgreSQL database: each sweep runs in one of them, once
per period; when the worker running it dies, another takes it over. On SQLite (one process)
every run is this process's and nothing is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import scheduler
from bot.db import session_factory
from bot.metrics import Metrics
from bot.workers import Workers
from models import Lease, Worker, utcnow
from tests import factories as f
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    TestDB,
    migrated_postgres,
)

JOBS = ("escalate", "reminders", "whistles")
BEAT = 0.2
STALE = 1.0
pg = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    """A database of its own: the workers need real, separately committed connections."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    async with migrated_postgres("redgrid_workers", pool_size=6) as engine:
        yield engine


@dataclass
class Node:
    """One worker: its heartbeat, its scheduler and what it ran."""

    workers: Workers
    scheduler: AsyncIOScheduler
    metrics: Metrics
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    beating: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.beating = asyncio.create_task(self.workers.run(self.stop))
        self.scheduler.start()

    def kill(self) -> None:
        """Dies without a word: the heartbeat stops, nothing is given back."""
        self.scheduler.shutdown(wait=False)
        assert self.beating is not None
        self.beating.cancel()


def node(engine: AsyncEngine, name: str) -> Node:
    sessions = session_factory(engine)
    jobs = {job: {"enabled": False} for job in scheduler.JOBS}
    jobs.update({job: {"enabled": True, "every_seconds": 1} for job in JOBS})
    settings = f.settings(scheduler=jobs)
    workers = Workers(sessions, name, shared=True, heartbeat_s=BEAT, stale_after_s=STALE)
    metrics = Metrics()
    built = scheduler.build_scheduler(
        sessions=sessions, settings=settings, clock=utcnow, metrics=metrics, workers=workers
    )
    return Node(workers, built, metrics)


def runs(nodes: list[Node]) -> dict[str, list[int]]:
    """Each job's runs so far, per worker."""
    return {job: [n.metrics.sweeps[job] for n in nodes] for job in JOBS}


@pytest.mark.postgres
async def test_each_sweep_runs_once_per_period_with_three_workers(pg_engine: AsyncEngine) -> None:
    nodes = [node(pg_engine, f"worker-{i}") for i in range(3)]
    for n in nodes:
        await n.workers.beat()
        n.start()
    try:
        await asyncio.sleep(4.5)  # four periods of every job
        before = runs(nodes)
        for job, counts in before.items():
            assert 3 <= sum(counts) <= 5, (job, counts)  # once a period, not three times
            assert sorted(counts)[:2] == [0, 0], (job, counts)  # in one worker
        holder = next(n for n in nodes if n.metrics.sweeps["escalate"])
        holder.kill()
        killed = runs([holder])
        await asyncio.sleep(STALE + 3.5)
        after = runs(nodes)
        living = [n for n in nodes if n is not holder]
        for job in JOBS:
            assert after[job][nodes.index(holder)] == killed[job][0]  # dead: ran no more
            gained = [after[job][nodes.index(n)] - before[job][nodes.index(n)] for n in living]
            assert 2 <= sum(gained) <= 5, (job, gained)  # taken over within the stale time
            assert 0 in gained, (job, gained)  # by one of the two
        async with session_factory(pg_engine)() as session:
            holders = set((await session.scalars(select(Lease.holder))).all())
        assert holder.workers.id not in holders
    finally:
        for n in nodes:
            n.stop.set()
            if n.scheduler.running:
                n.scheduler.shutdown(wait=False)
        await asyncio.gather(*(n.beating for n in nodes if n.beating), return_exceptions=True)


@pytest.mark.postgres
async def test_a_lease_is_kept_by_its_living_holder_and_freed_when_it_leaves(
    pg_engine: AsyncEngine,
) -> None:
    sessions = session_factory(pg_engine)
    a = Workers(sessions, "a", shared=True, stale_after_s=STALE)
    b = Workers(sessions, "b", shared=True, stale_after_s=STALE)
    assert await a.hold("job:x")
    assert not await b.hold("job:x")
    assert await a.hold("job:x")  # kept
    assert await b.living() == ["a", "b"]
    await asyncio.sleep(STALE + 0.2)  # a is silent: dead
    await b.beat()
    assert await b.living() == ["b"]
    assert await b.hold("job:x")
    assert not await a.hold("job:x")  # back, but b holds it now
    await b.leave()
    assert await a.hold("job:x")  # freed at once


async def test_on_sqlite_every_lease_is_this_process_and_nothing_is_written(db: TestDB) -> None:
    if db.kind != "sqlite":
        pytest.skip("SQLite only")
    workers = Workers(db.sessions, "solo", shared=False)
    await workers.beat()
    assert await workers.hold("job:escalate")
    assert await workers.living() == ["solo"]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Worker)) == 0
        assert await session.scalar(select(func.count()).select_from(Lease)) == 0


@pytest.mark.postgres
async def test_a_running_worker_forgets_workers_silent_for_a_day_and_leaves_when_stopped(
    pg_engine: AsyncEngine,
) -> None:
    sessions = session_factory(pg_engine)
    async with sessions() as session, session.begin():
        old = utcnow() - timedelta(days=2)
        session.add(Worker(id="killed-long-ago", started_at=old, heartbeat_at=old))
        session.add(Worker(id="killed-just-now", started_at=utcnow(), heartbeat_at=utcnow()))
    workers = Workers(sessions, "running", shared=True, heartbeat_s=BEAT)
    stop = asyncio.Event()
    task = asyncio.create_task(workers.run(stop))

    async def ids() -> set[str]:
        async with sessions() as session:
            return set((await session.scalars(select(Worker.id))).all())

    for _ in range(100):
        if "running" in await ids():
            break
        await asyncio.sleep(0.02)
    assert await ids() == {"running", "killed-just-now"}
    stop.set()
    await task
    assert await ids() == {"killed-just-now"}
