"""Two workers' web apps on one PostgreSQL database: a push delivered by worker A reaches a
web chat whose live stream is connected to worker B within a second (not at B's 15-second
re-read), through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.webchat_fanout import Fanout
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from bot.web.auth import COOKIE
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    migrated_postgres,
)
from tests.web.conftest import Web
from tests.web.test_busy import open_stream, until, web_over

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_fanout", pool_size=4) as engine:
        yield engine


@contextlib.asynccontextmanager
async def worker(
    engine: AsyncEngine, tmp_path: Path, clock: Clock, name: str
) -> AsyncIterator[tuple[Web, Fanout]]:
    async with web_over(engine, tmp_path / name, clock) as web:
        url = engine.url.render_as_string(hide_password=False)
        fanout = Fanout(web.hub, web.db.sessions, url, name)
        web.hub.relay = fanout.announce
        stop = asyncio.Event()
        task = asyncio.create_task(fanout.run(stop))
        try:
            await asyncio.wait_for(fanout.listening.wait(), 10)
            yield web, fanout
        finally:
            stop.set()
            await task


async def test_a_push_delivered_by_one_worker_reaches_a_stream_on_another_within_a_second(
    pg_engine: AsyncEngine, tmp_path: Path, clock: Clock
) -> None:
    async with (
        worker(pg_engine, tmp_path, clock, "worker-a") as (a, _),
        worker(pg_engine, tmp_path, clock, "worker-b") as (b, b_fanout),
    ):
        session = await b.start()
        channel, chat_id = str(session["chat"]).split(":", 1)
        a.client.cookies.set(COOKIE, b.client.cookies[COOKIE])  # the same browser, behind a proxy
        stream = open_stream(b)
        await until(lambda: any(c.startswith("retry:") for c in stream.chunks))
        async with a.db.sessions() as db, db.begin():
            row = await enqueue(
                db, channel=channel, chat_id=chat_id, message=Outgoing(text="您的诉求已受理")
            )
        started = asyncio.get_running_loop().time()
        assert await a.sender.pump() == 1  # worker A delivers it
        await until(lambda: [e["id"] for e in stream.events()] == [row.id], seconds=5)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert stream.events()[0]["text"] == "您的诉求已受理"
        assert b_fanout.heard == 1
        b.hub.close()
        await asyncio.wait_for(stream.task, 5)
