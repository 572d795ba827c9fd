"""A database connection cut in the middle of an update: the update is not confirmed.

Found by bench/chaos.py: `pg_terminate_backend` (or a server restart) makes asyncpg raise
"connection was closed in the middle of operation", which SQLAlchemy raises as a plain
DBAPIError with `connection_invalidated=True` (not OperationalError/InterfaceError). The engine
took it for a handler crash: it confirmed the update with an apology, so Telegram never
redelivered it and the resident's step (often their whole request) was lost.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from bot.core.context import Context
from models import ProcessedUpdate
from tests.conftest import Bot


class ConnectionClosed(Exception):
    """What asyncpg raises when the server terminates the backend."""


async def test_a_cut_connection_leaves_the_update_for_redelivery(bot: Bot) -> None:
    async def cut(_ctx: Context) -> None:
        raise DBAPIError(
            "SELECT 1",
            {},
            ConnectionClosed("connection was closed in the middle of operation"),
            connection_invalidated=True,
        )

    bot.engine.router.commands["cut"] = cut
    chat = bot.chat("u-cut")
    incoming = chat.incoming("command", command="cut")
    try:
        with pytest.raises(DBAPIError):
            await bot.engine.process(incoming)
    finally:
        del bot.engine.router.commands["cut"]
    async with bot.db.sessions() as session:
        recorded = await session.execute(
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.update_id == incoming.update_id)
        )
        assert recorded.scalar_one() == 0
    assert not chat.messages  # no apology: the channel will redeliver
