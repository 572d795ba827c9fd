"""Duplicate deliveries at the same moment (WeChat posting one push to several workers, or
retrying while the first try still runs) make one update, on a database of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import migrate
from bot.db import create_engine, session_factory
from models import ChannelIdentity, ProcessedUpdate
from tests.channels.wechat.conftest import open_rig
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    create_postgres_database,
    drop_postgres_database,
)


@dataclass
class OwnDB:
    """A migrated database of the test's own: sessions really run side by side."""

    kind: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(params=["sqlite", "postgres"])
async def own_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OwnDB]:
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/own.sqlite3"
    else:
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        url, name = await create_postgres_database("redgrid_wechat")
    engine = create_engine(url)
    await migrate.upgrade(engine)
    try:
        yield OwnDB(request.param, engine, session_factory(engine))
    finally:
        await engine.dispose()
        if name is not None:
            await drop_postgres_database(name)


async def test_concurrent_duplicates_make_one_update(
    own_db: OwnDB, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    rig = await open_rig(own_db, clock, tmp_path / "uploads", "safe")  # type: ignore[arg-type]
    try:
        openid = "o_twice_1"
        xml = rig.driver.xml(openid, {"MsgType": "text", "Content": "你好", "MsgId": "9300"})
        rig.api.wrote(openid)
        deliveries = await asyncio.gather(
            rig.driver.post(xml, nonce="1"),
            rig.driver.post(xml, nonce="1"),
            rig.driver.post(xml, nonce="2"),
        )
        await rig.callback.idle()
        assert all(d.ok for d in deliveries), [d.statuses for d in deliveries]
        async with own_db.sessions() as session:
            updates = await session.scalar(
                select(func.count())
                .select_from(ProcessedUpdate)
                .where(ProcessedUpdate.channel == "wechat")
            )
            identities = await session.scalar(
                select(func.count())
                .select_from(ChannelIdentity)
                .where(ChannelIdentity.external_id == openid)
            )
        assert (updates, identities) == (1, 1)
        passive = [d for d in deliveries if d.passive is not None]
        assert len(passive) <= 1
    finally:
        await rig.close()
