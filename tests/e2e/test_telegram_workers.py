"""Two workers with Telegram polling on one PostgreSQL database: one polls at a time (Telegram
answers two pollers with 409 Conflict), the other takes over when the poller dies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram_keeper import keep_telegram
from bot.config import Settings
from bot.db import session_factory
from bot.metrics import PartHealth
from bot.workers import Workers
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    TestDB,
    migrated_postgres,
)
from tests.e2e.conftest import make_client, make_telegram_engine, telegram_configured
from tests.fakes.bot_api import FakeBotAPI

BEAT = 0.2
STALE = 1.0


@pytest.fixture
async def leases() -> AsyncIterator[AsyncEngine]:
    """A database of its own for the workers' heartbeats and leases (separate connections)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    async with migrated_postgres("redgrid_polling", pool_size=4) as engine:
        yield engine


@dataclass
class Poller:
    workers: Workers
    task: asyncio.Task[None]
    beating: asyncio.Task[None]
    health: PartHealth
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def kill(self) -> None:
        self.task.cancel()
        self.beating.cancel()


async def _start(
    name: str, leases: AsyncEngine, demo: TestDB, settings: Settings, clock: Clock, api: FakeBotAPI
) -> Poller:
    workers = Workers(
        session_factory(leases), name, shared=True, heartbeat_s=BEAT, stale_after_s=STALE
    )
    await workers.beat()
    client = make_client("ptb", api)
    engine, _ = make_telegram_engine(demo, settings, clock, client)
    stop, health = asyncio.Event(), PartHealth()
    task = asyncio.create_task(
        keep_telegram(
            settings,
            engine,
            client,
            stop=stop,
            health=health,
            poll_timeout=1,
            concurrency=1,
            workers=workers,
        )
    )
    return Poller(workers, task, asyncio.create_task(workers.run(stop)), health, stop)


async def _holder(leases: AsyncEngine) -> str | None:
    async with session_factory(leases)() as session:
        row = await session.execute(
            text("SELECT holder FROM leases WHERE name = 'telegram:polling'")
        )
        return row.scalar_one_or_none()


async def test_one_worker_polls_and_another_takes_over_when_it_dies(
    demo: TestDB, leases: AsyncEngine, settings: Settings, clock: Clock
) -> None:
    if demo.kind != "postgres":
        pytest.skip("several workers share a PostgreSQL database")
    api = FakeBotAPI()
    await api.start()
    configured = telegram_configured(settings, api, framework="ptb", mode="polling")
    pollers: list[Poller] = []
    try:
        # One after the other: the two engines share the test's one database connection.
        for name in ("w1", "w2"):
            pollers.append(await _start(name, leases, demo, configured, clock, api))
            for _ in range(300):
                if pollers[-1].health.state == "running" and await _holder(leases):
                    break
                await asyncio.sleep(0.02)
        first = await _holder(leases)
        assert first in ("w1", "w2")
        sent = await api.user(6300).send("/start")
        assert sent and "红网格" in sent[0]["text"]
        await asyncio.sleep(1.5)  # several long polls: only the holder's
        assert api.poll_conflicts == 0
        dead = next(p for p in pollers if p.workers.id == first)
        alive = next(p for p in pollers if p is not dead)
        dead.kill()
        for _ in range(300):
            if await _holder(leases) == alive.workers.id:
                break
            await asyncio.sleep(0.02)
        assert await _holder(leases) == alive.workers.id
        sent = await api.user(6301).send("/start")
        assert sent and "红网格" in sent[0]["text"]
        assert api.poll_conflicts == 0
    finally:
        for p in pollers:
            p.stop.set()
        await asyncio.gather(*(p.task for p in pollers), return_exceptions=True)
        await asyncio.gather(*(p.beating for p in pollers), return_exceptions=True)
        await api.close()
