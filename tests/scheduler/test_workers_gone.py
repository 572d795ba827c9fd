"""A worker that vanished without a word (SIGKILL: its row left, its process gone) is taken
over at once by a worker on the same machine, not after the heartbeat's staleness; a worker on
another machine, or one whose process still runs, still goes by its heartbeat."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram_runtime import POLLING_LEASE
from bot.db import session_factory
from bot.workers import Process, Workers, is_gone, start_ticks, this_process
from models import Worker
from tests.conftest import PG_SKIP_REASON, PG_URL, migrated_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]
if this_process().pid_space is None:
    pytestmark.append(pytest.mark.skip(reason="needs /proc"))


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_gone", pool_size=4) as engine:
        yield engine


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process of this machine that runs until the test kills it."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def process_of(child: subprocess.Popen[bytes]) -> Process:
    started = start_ticks(child.pid)
    assert started is not None
    return replace(this_process(), pid=child.pid, started=started)


def worker(
    sessions: async_sessionmaker[AsyncSession], name: str, process: Process | None = None
) -> Workers:
    """A worker with `redgrid run`'s default heartbeat (2 s) and staleness (10 s)."""
    return Workers(sessions, name, shared=True, process=process)


async def polling_taken_after(new: Workers) -> float:
    """Seconds from the new worker's first beat until it polls."""
    stop = asyncio.Event()
    polling = asyncio.Event()

    async def poll(until: asyncio.Event) -> None:
        polling.set()
        await until.wait()

    started = time.monotonic()
    await new.beat()  # as `redgrid run` does before it starts its parts
    task = asyncio.create_task(new.while_held(POLLING_LEASE, stop, poll))
    try:
        await asyncio.wait_for(polling.wait(), timeout=4.0)
        return time.monotonic() - started
    finally:
        stop.set()
        await task


async def test_a_killed_pollers_lease_goes_to_its_successor_at_once(
    pg_engine: AsyncEngine, sleeper: subprocess.Popen[bytes]
) -> None:
    sessions = session_factory(pg_engine)
    old = worker(sessions, "host-old", process_of(sleeper))
    await old.beat()
    assert await old.hold(POLLING_LEASE)
    sleeper.kill()  # SIGKILL: its row and its lease are left behind
    sleeper.wait()
    assert is_gone(old.process.pid, old.process.started)
    assert await polling_taken_after(worker(sessions, "host-new")) < 1.0
    async with sessions() as session:
        assert set((await session.scalars(select(Worker.id))).all()) == {"host-new"}


async def test_a_pid_reused_by_a_later_process_is_no_proof_of_life(
    pg_engine: AsyncEngine, sleeper: subprocess.Popen[bytes]
) -> None:
    sessions = session_factory(pg_engine)
    mine = process_of(sleeper)
    earlier = replace(mine, started=mine.started - 100)  # type: ignore[operator]
    old = worker(sessions, "host-old", earlier)
    await old.beat()
    assert await old.hold(POLLING_LEASE)
    assert await polling_taken_after(worker(sessions, "host-new")) < 1.0


async def test_a_living_holder_or_one_on_another_machine_keeps_its_lease(
    pg_engine: AsyncEngine, sleeper: subprocess.Popen[bytes]
) -> None:
    sessions = session_factory(pg_engine)
    living = worker(sessions, "host-living", process_of(sleeper))
    await living.beat()
    assert await living.hold("job:living")
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    elsewhere = replace(this_process(), pid=gone.pid, pid_space="another-boot/pid:[1]")
    remote = worker(sessions, "far-away", elsewhere)
    await remote.beat()
    assert await remote.hold(POLLING_LEASE)
    new = worker(sessions, "host-new")
    await new.beat()
    assert not await new.hold("job:living")
    assert not await new.hold(POLLING_LEASE)  # its heartbeat is 10 s good
    assert sorted(await new.living()) == ["far-away", "host-living", "host-new"]
