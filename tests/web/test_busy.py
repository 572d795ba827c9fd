"""A busy database: the push streams stay open, and sends past saturation are refused at once
(503 with Retry-After in the person's language), then handled once when sent again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import session_factory
from bot.i18n import t
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from bot.web.app import STATIC_DIR
from bot.web.auth import COOKIE
from models import OutboxMessage, ProcessedUpdate
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    TestDB,
    free_port,
    migrated_engine,
    migrated_postgres,
)
from tests.web.conftest import Web, build_web, web_settings

POOL_WAIT = 0.3


@pytest.fixture(params=["sqlite", "postgres"])
async def small_pool(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh migrated database whose engine has one connection (SQLite) or two
    (PostgreSQL) and waits POOL_WAIT seconds for one: easy to exhaust."""
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        database = migrated_postgres("redgrid_busy", pool_size=1, pool_timeout=POOL_WAIT)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'busy.sqlite3'}"
        database = migrated_engine(url, pool_size=1, pool_timeout=POOL_WAIT)
    async with database as engine:
        yield engine


@contextlib.asynccontextmanager
async def held(engine: AsyncEngine) -> AsyncIterator[None]:
    """Every connection of the engine's pool checked out: the app gets none in time."""
    pool = engine.sync_engine.pool
    capacity = pool.size() + max(pool._max_overflow, 0)  # type: ignore[attr-defined]
    connections: list[AsyncConnection] = []
    try:
        for _ in range(capacity):
            connections.append(await engine.connect())
        yield
    finally:
        for connection in connections:
            await connection.close()


@contextlib.asynccontextmanager
async def web_over(
    engine: AsyncEngine, tmp_path: Path, clock: Clock, **webchat: object
) -> AsyncIterator[Web]:
    settings = web_settings(tmp_path / "uploads", **webchat)
    kind = engine.dialect.name
    db = TestDB(kind, str(engine.url), engine, None, session_factory(engine))  # type: ignore[arg-type]
    app, sender, hub = build_web(db, settings, clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"Accept-Language": "en"}
    ) as client:
        yield Web(app, client, sender, hub, settings, db, clock)


@dataclass
class Stream:
    """An open /api/events stream, read in a task."""

    chunks: list[str]
    task: asyncio.Task[None]
    status: list[int]

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(c.split("data: ", 1)[1]) for c in self.chunks if c.startswith("id:")]


def open_stream(web: Web) -> Stream:
    cookie = f"{COOKIE}={web.client.cookies[COOKIE]}"
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/events",
        "raw_path": b"/api/events",
        "query_string": b"after=0",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
    }
    chunks: list[str] = []
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        await web.hub.closing.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        if message.get("body"):
            chunks.append(message["body"].decode())

    return Stream(chunks, asyncio.create_task(web.app(scope, receive, send)), status)


async def until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_a_busy_database_never_ends_a_push_stream(
    small_pool: AsyncEngine, tmp_path: Path, clock: Clock
) -> None:
    async with web_over(small_pool, tmp_path, clock) as web:
        session = await web.start()
        channel, chat_id = str(session["chat"]).split(":", 1)
        stream = open_stream(web)
        await until(lambda: any(c.startswith("retry:") for c in stream.chunks))
        async with held(small_pool):
            web.hub.publish((channel, chat_id))  # the stream reads: no connection in time
            await until(lambda: web.app.state.web.metrics.errors["events_read"] >= 1)
            await asyncio.sleep(0.05)
            assert not stream.task.done()
        async with web.db.sessions() as db, db.begin():
            row = await enqueue(db, channel=channel, chat_id=chat_id, message=Outgoing(text="hi"))
        assert await web.sender.pump() >= 1  # delivered: wakes the stream
        await until(lambda: [e["id"] for e in stream.events()] == [row.id])
        assert not stream.task.done()
        web.hub.close()
        await asyncio.wait_for(stream.task, 5)
        assert stream.status == [200]


async def test_a_send_the_database_cannot_take_in_time_is_503_with_retry_after(
    small_pool: AsyncEngine, tmp_path: Path, clock: Clock
) -> None:
    async with web_over(small_pool, tmp_path, clock, busy_retry_after_s=3) as web:
        session = await web.start()
        csrf = str(session["csrf"])
        body = {"kind": "text", "text": "/start", "language": "en"}
        async with held(small_pool):
            refused = await web.send(csrf, "busy-key-0001", **body)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "3"
        assert (
            refused.json()["error"]
            == "The service is unavailable right now; please try again later."
        )
        again = await web.send(csrf, "busy-key-0001", **body)
        assert again.status_code == 200, again.text
        assert (await web.send(csrf, "busy-key-0001", **body)).json()["status"] == "duplicate"
        async with web.db.sessions() as db:
            updates = await db.scalar(select(func.count()).select_from(ProcessedUpdate))
            replies = await db.scalar(select(func.count()).select_from(OutboxMessage))
        assert updates == 1
        assert replies and replies >= 1


async def test_past_the_sends_in_flight_a_send_is_refused_at_once_and_handled_once_later(
    small_pool: AsyncEngine, tmp_path: Path, clock: Clock
) -> None:
    async with web_over(small_pool, tmp_path, clock, max_sends_in_flight=1) as web:
        session = await web.start()
        csrf = str(session["csrf"])
        body = {"kind": "text", "text": "/start", "language": "en"}
        async with held(small_pool):
            first = asyncio.create_task(web.send(csrf, "first-key-0001", **body))
            await asyncio.sleep(0.05)  # waiting for a connection: one send in flight
            started = asyncio.get_running_loop().time()
            shed = await web.send(csrf, "shed-key-00001", **body)
            assert asyncio.get_running_loop().time() - started < POOL_WAIT  # not queued
            assert not first.done()
        assert shed.status_code == 503
        assert shed.headers["Retry-After"] == "2"
        assert shed.json() == {"error": t("en", "web.busy"), "code": "busy"}
        assert t("en", "web.busy").startswith("Many people are sending messages right now")
        assert (await first).status_code == 200  # a connection came free within its wait
        for key in ("first-key-0001", "shed-key-00001", "shed-key-00001"):
            assert (await web.send(csrf, key, **body)).status_code == 200
        async with web.db.sessions() as db:
            updates = await db.scalar(select(func.count()).select_from(ProcessedUpdate))
        assert updates == 2
        assert web.app.state.web.metrics.errors["send_shed"] == 1


NODE = shutil.which("node")
HARNESS = Path(__file__).parent / "js" / "retry_harness.mjs"


@pytest.mark.skipif(NODE is None, reason="page test skipped: no node (apt-get install nodejs)")
async def test_the_page_sends_again_after_retry_after_with_the_same_key(
    small_pool: AsyncEngine, tmp_path: Path, clock: Clock
) -> None:
    async with web_over(small_pool, tmp_path, clock, busy_retry_after_s=1) as web:
        port = free_port()
        config = uvicorn.Config(
            web.app, host="127.0.0.1", port=port, log_config=None, lifespan="off"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        await until(lambda: server.started)
        assert NODE is not None
        node = await asyncio.create_subprocess_exec(
            NODE,
            str(HARNESS),
            f"http://127.0.0.1:{port}",
            str(STATIC_DIR / "js"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert node.stdin is not None and node.stdout is not None
        try:
            assert json.loads(await asyncio.wait_for(node.stdout.readline(), 20)) == {"ready": 200}
            metrics = web.app.state.web.metrics
            async with held(small_pool):
                node.stdin.write(b"go\n")
                await node.stdin.drain()
                await until(lambda: metrics.http[503] >= 1)
            result = json.loads(await asyncio.wait_for(node.stdout.readline(), 20))
        finally:
            if node.returncode is None:
                node.kill()
            await node.wait()
            server.should_exit = True
            await serving
    posts = result["posts"]
    assert result["ok"] is True
    assert [p["status"] for p in posts] == [503, 200]
    assert {p["key"] for p in posts} == {"page-key-0001"}
    assert posts[0]["retryAfter"] == "1"
    assert posts[1]["at"] - posts[0]["at"] >= 1000  # waited as told
    assert result["notices"] == ["The service is unavailable right now; please try again later."]
    async with web.db.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
