"""PostgreSQL busy: a row lock not granted in time (or a deadlock, a serialization failure, a
server shutting down) leaves the update unconfirmed for redelivery; it is not answered with an
apology and confirmed as if it were a bug, which would lose the resident's message."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot import migrate
from bot.channels.testing import TestChannel, TestChat
from bot.config import Settings
from bot.core.engine import Engine
from bot.core.flood import FloodGate
from bot.db import create_engine, session_factory
from bot.outbox import Sender
from bot.services.org.importer import load_demo
from handlers import build_router
from tests.conftest import PG_SKIP_REASON, PG_URL, create_postgres_database, drop_postgres_database
from tests.e2e.conftest import UNLIMITED

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]


async def test_a_row_lock_not_granted_in_time_leaves_the_update_for_redelivery(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    url, name = await create_postgres_database("redgrid_pg_faults")
    db = create_engine(url)

    @event.listens_for(db.sync_engine, "connect")
    def _short_lock_wait(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET lock_timeout = '200ms'")
        cursor.close()

    other = None
    try:
        await migrate.upgrade(db)
        sessions = session_factory(db)
        async with sessions() as session, session.begin():
            await load_demo(session)
        channel = TestChannel()
        outputs = {channel.name: channel}
        sender = Sender(
            sessions, outputs, settings.outbox, settings.tz, worker_id="pg-faults",
            limits=UNLIMITED,
        )  # fmt: skip
        engine = Engine(
            sessions=sessions, settings=settings, router=build_router(), outputs=outputs,
            sender=sender, flood=FloodGate(0),
        )  # fmt: skip
        chat = TestChat(engine, channel, user_id="pg-busy-1")
        await chat.send("/start")
        answered = len(chat.messages)

        # Another worker holds the chat's conversation row longer than the lock wait.
        target = make_url(url)
        other = await asyncpg.connect(
            host=target.host, port=target.port or 5432, user=target.username,
            database=target.database,
        )  # fmt: skip
        await other.execute("BEGIN")
        await other.execute(
            "SELECT state FROM conversations WHERE chat_id = $1 FOR UPDATE", chat.chat_id
        )
        incoming = chat.incoming("command", command="help")
        caplog.set_level(logging.WARNING)
        with pytest.raises(DBAPIError, match="lock timeout"):
            await engine.process(incoming)
        assert len(chat.messages) == answered  # no apology: the update comes again
        [line] = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert "lock timeout [55P03]" in line.getMessage() and line.exc_info is None

        await other.execute("ROLLBACK")
        assert (await engine.process(incoming)).status == "handled"
        assert (await engine.process(incoming)).status == "duplicate"
        assert len(chat.messages) > answered
    finally:
        if other is not None:
            await other.close()
        await db.dispose()
        await drop_postgres_database(name)
