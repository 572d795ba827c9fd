"""SQLite locked or full: a clear one-line error, the update not confirmed, nothing half written,
and the same update handled once when it comes again after the condition cleared.

These faults are SQLite's own (another process holding the write lock past the busy timeout;
a disk with no room for one more page), so the tests run on an SQLite file of their own, with
connections of their own, not on the shared rolled-back test connection. The disk is "full" by
`PRAGMA max_page_count` pinned to the database's size on the engine's connections.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import migrate
from bot.channels.telegram_polling import poll
from bot.channels.telegram_runtime import make_update_handler
from bot.channels.testing import TestChannel, TestChat
from bot.config import Settings
from bot.core.context import Context
from bot.core.engine import Engine, ProcessResult
from bot.core.flood import FloodGate
from bot.db import create_engine, session_factory
from bot.messages import Incoming
from bot.outbox import Sender
from bot.services.org.importer import load_demo
from handlers import build_router
from tests.e2e.conftest import UNLIMITED, make_client
from tests.fakes.bot_api import FakeBotAPI

BUSY_MS = 100  # instead of the product's 10 s, so a held lock outlasts it quickly


@pytest.fixture(scope="module")
async def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file holding the demo district, for this module's tests only."""
    path: Path = tmp_path_factory.mktemp("faults") / "redgrid.sqlite3"
    db = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(db)
    async with session_factory(db)() as session, session.begin():
        await load_demo(session)
    await db.dispose()
    return path


@dataclass
class Rig:
    db: AsyncEngine
    engine: Engine
    sender: Sender
    # Pages the engine's connections may use (None: no limit); read when a connection opens.
    max_pages: int | None = None

    async def close(self) -> None:
        await self.sender.flush_reply_marks()
        await self.db.dispose()


def build(path: Path, settings: Settings, outputs: dict[str, Any]) -> Rig:
    """An engine as production builds it (replies recorded lazily), on its own connections
    to `path`, with a short busy timeout."""
    db = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_wait=BUSY_MS / 1000)
    sessions = session_factory(db)
    sender = Sender(
        sessions, outputs, settings.outbox, settings.tz, worker_id="faults",
        limits=UNLIMITED, record_delay=0.05,
    )  # fmt: skip
    engine = Engine(
        sessions=sessions, settings=settings, router=build_router(), outputs=outputs,
        sender=sender, flood=FloodGate(0),
    )  # fmt: skip
    rig = Rig(db, engine, sender)

    # Registered after the product's own listener, so these settings win.
    @event.listens_for(db.sync_engine, "connect")
    def _limits(dbapi_connection: Any, _record: Any) -> None:
        if rig.max_pages is not None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA max_page_count={rig.max_pages}")
            cursor.close()

    return rig


@pytest.fixture
async def rig(sqlite_file: Path, settings: Settings) -> AsyncIterator[tuple[Rig, TestChannel]]:
    channel = TestChannel()
    built = build(sqlite_file, settings, {channel.name: channel})
    yield built, channel
    await built.close()


def table_counts(path: Path) -> dict[str, int]:
    """Rows per table, read by a connection of its own (WAL readers are never blocked)."""
    with connect(path) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def processed(path: Path, update_id: str) -> int:
    with connect(path) as conn:
        row = conn.execute(
            "SELECT count(*) FROM processed_updates WHERE update_id = ?", (update_id,)
        ).fetchone()
        return int(row[0])


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another process's write transaction (BEGIN IMMEDIATE), held until the block ends."""
    with connect(path) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "database unavailable" in r.getMessage()]


def assert_no_stack_spam(caplog: pytest.LogCaptureFixture) -> None:
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    assert not noisy, [r.getMessage() for r in noisy]


async def test_a_locked_database_leaves_the_update_for_redelivery(
    rig: tuple[Rig, TestChannel], sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built, channel = rig
    chat = TestChat(built.engine, channel, user_id="locked-1")
    incoming = chat.incoming("command", command="start")
    before = table_counts(sqlite_file)
    caplog.set_level(logging.DEBUG)
    with write_lock(sqlite_file):
        with pytest.raises(OperationalError, match="database is locked"):
            await built.engine.process(incoming)
        assert table_counts(sqlite_file) == before  # nothing half written
    [line] = outage_lines(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert f"test:{incoming.update_id}" in line.getMessage()
    assert "database is locked [SQLITE_BUSY]" in line.getMessage()
    assert_no_stack_spam(caplog)
    assert not chat.messages  # no apology: the channel delivers the update again

    # The lock is gone: the same update is handled, once.
    assert (await built.engine.process(incoming)).status == "handled"
    assert (await built.engine.process(incoming)).status == "duplicate"
    assert processed(sqlite_file, incoming.update_id) == 1
    assert chat.messages and "红网格" in chat.messages[0].text
    after = table_counts(sqlite_file)
    assert after["conversations"] == before["conversations"] + 1
    assert after["persons"] == before["persons"] + 1


async def test_a_full_disk_leaves_the_update_for_redelivery(
    rig: tuple[Rig, TestChannel], sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built, channel = rig
    with connect(sqlite_file) as conn:
        built.max_pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    # Newcomers keep writing until one of them needs a page more than the disk has.
    failed: tuple[TestChat, Incoming, dict[str, int]] | None = None
    caplog.set_level(logging.DEBUG)
    for n in range(300):
        chat = TestChat(built.engine, channel, user_id=f"full-{n}")
        incoming = chat.incoming("command", command="start")
        before = table_counts(sqlite_file)
        try:
            await built.engine.process(incoming)
        except OperationalError as error:
            assert "database or disk is full" in str(error)
            failed = chat, incoming, before
            break
    assert failed is not None, "300 newcomers fitted in the capped database"
    chat, incoming, before = failed
    assert table_counts(sqlite_file) == before  # nothing half written
    assert processed(sqlite_file, incoming.update_id) == 0
    assert not chat.messages
    lines = [r for r in outage_lines(caplog) if f"test:{incoming.update_id}" in r.getMessage()]
    assert len(lines) == 1 and "database or disk is full [SQLITE_FULL]" in lines[0].getMessage()
    assert lines[0].levelno == logging.WARNING
    assert_no_stack_spam(caplog)

    # Room again (new connections get no cap): the same update is handled, once.
    built.max_pages = None
    await built.sender.flush_reply_marks()
    await built.db.dispose()
    assert (await built.engine.process(incoming)).status == "handled"
    assert (await built.engine.process(incoming)).status == "duplicate"
    assert processed(sqlite_file, incoming.update_id) == 1
    assert chat.messages and "红网格" in chat.messages[0].text


def sqlite_error(make: str) -> sqlite3.OperationalError:
    """A genuine sqlite3 error, raised by SQLite itself on a scratch database."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        if make == "table locked":
            cursor = conn.execute("SELECT x FROM t")
            cursor.fetchone()  # a statement still reading t...
            conn.execute("DROP TABLE t")  # ...so t cannot be dropped
        conn.execute("SELECT * FROM missing")
    except sqlite3.OperationalError as error:
        return error
    finally:
        conn.close()
    raise AssertionError("no error")


async def _raising(built: Rig, channel: TestChannel, error: BaseException, user: str) -> Any:
    async def fail(_ctx: Context) -> None:
        raise error

    built.engine.router.commands["fail"] = fail
    chat = TestChat(built.engine, channel, user_id=user)
    incoming = chat.incoming("command", command="fail")
    return chat, incoming


async def test_a_locked_table_is_an_outage(
    rig: tuple[Rig, TestChannel], sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built, channel = rig
    orig = sqlite_error("table locked")
    assert orig.sqlite_errorname == "SQLITE_LOCKED"
    error = OperationalError("DROP TABLE t", {}, orig)
    chat, incoming = await _raising(built, channel, error, "table-locked")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OperationalError):
        await built.engine.process(incoming)
    [line] = outage_lines(caplog)
    assert "database table is locked [SQLITE_LOCKED]" in line.getMessage()
    assert processed(sqlite_file, incoming.update_id) == 0 and not chat.messages


async def test_a_bug_reported_by_sqlite_is_not_an_outage(
    rig: tuple[Rig, TestChannel], sqlite_file: Path
) -> None:
    """ "no such table" is an OperationalError too, but retrying it would fail forever: the
    update is confirmed with an apology, like any other bug."""

    async def missing_table(ctx: Context) -> None:
        await ctx.session.execute(text("SELECT * FROM no_such_table"))

    built, channel = rig
    built.engine.router.commands["fail"] = missing_table
    chat = TestChat(built.engine, channel, user_id="sqlite-bug")
    incoming = chat.incoming("command", command="fail")
    result: ProcessResult = await built.engine.process(incoming)
    assert result.status == "failed"
    assert processed(sqlite_file, incoming.update_id) == 1
    assert len(chat.messages) == 1  # the apology


async def test_polling_does_not_confirm_an_update_while_the_database_is_locked(
    sqlite_file: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotAPI()
    await api.start()
    client = make_client("ptb", api)
    built = build(sqlite_file, settings, {client.name: client})
    await client.start()
    stop = asyncio.Event()
    caplog.set_level(logging.DEBUG)
    poller = asyncio.create_task(
        poll(client, make_update_handler(built.engine, client), stop=stop, poll_timeout=1,
             concurrency=1, retry_delay=0.05)
    )  # fmt: skip
    try:
        user = api.user(880001)
        with write_lock(sqlite_file):
            await user.send("/start", wait=False)
            update_id = user.last_update["update_id"]
            for _ in range(400):
                if len(outage_lines(caplog)) >= 3:  # fetched and refused three times
                    break
                await asyncio.sleep(0.01)
            assert len(outage_lines(caplog)) >= 3
            assert update_id not in api.confirmed
            offsets = [c.params.get("offset") for c in api.calls_of("getUpdates")]
            assert all(o is None or o <= update_id for o in offsets)  # offset not advanced
            assert processed(sqlite_file, str(update_id)) == 0
        await api.wait_confirmed(update_id, within=10)
        assert processed(sqlite_file, str(update_id)) == 1
        assert len(user.messages) >= 1 and "红网格" in user.messages[0]["text"]
        assert all("SQLITE_BUSY" in r.getMessage() for r in outage_lines(caplog))
        assert_no_stack_spam(caplog)
    finally:
        stop.set()
        await asyncio.wait_for(poller, 10)
        await built.close()
        await client.close()
        await api.close()
