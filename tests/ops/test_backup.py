"""`redgrid db backup` / `restore`: a backup restored into an empty database holds every request."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot import migrate
from bot.channels.testing import TestChannel, TestChat
from bot.config import Settings
from bot.db import create_engine, session_factory
from bot.services.org.importer import load_demo
from bot.services.storage import backup
from models import Request, RequestEvent
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    create_postgres_database,
    drop_postgres_database,
    make_engine,
)
from tests.handlers.journey import onboard, report_light


async def _fill(url: str, settings: Settings, clock: Clock) -> dict[str, tuple[str, int]]:
    """A migrated database with the demo district and three residents' requests; returns
    {reference: (status, number of events)}."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            await load_demo(session)
        channel = TestChannel()
        bot_engine = make_engine(SimpleNamespace(sessions=sessions), settings, clock, channel)  # type: ignore[arg-type]
        for index in range(3):
            chat_user = f"backup-{index}"
            chat = TestChat(bot_engine, channel, user_id=chat_user)
            await onboard(chat)
            await report_light(chat, f"楼道灯坏了第{index}次，晚上黑漆漆的")
        return await _requests(sessions)
    finally:
        await engine.dispose()


async def _requests(sessions: async_sessionmaker) -> dict[str, tuple[str, int]]:  # type: ignore[type-arg]
    async with sessions() as session:
        found: dict[str, tuple[str, int]] = {}
        for request in (await session.execute(select(Request))).scalars():
            events = await session.execute(
                select(RequestEvent.id).where(RequestEvent.request_id == request.id)
            )
            found[request.reference] = (request.status.value, len(events.all()))
        return found


async def _read(url: str) -> dict[str, tuple[str, int]]:
    engine = create_engine(url)
    try:
        return await _requests(session_factory(engine))
    finally:
        await engine.dispose()


async def test_sqlite_backup_restores_into_an_empty_database(
    tmp_path: Path, settings: Settings, clock: Clock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}"
    before = await _fill(url, settings, clock)
    assert len(before) == 3
    result = await backup.backup(url=url, path=tmp_path / "backups" / "redgrid.bak")
    assert result.kind == "sqlite" and result.size > 0
    assert sqlite3.connect(result.path).execute("PRAGMA integrity_check").fetchone() == ("ok",)

    empty = f"sqlite+aiosqlite:///{tmp_path / 'restored.sqlite3'}"
    await backup.restore(url=empty, path=result.path)
    assert await _read(empty) == before


async def test_postgres_backup_restores_into_an_empty_database(
    tmp_path: Path, settings: Settings, clock: Clock
) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = await create_postgres_database("redgrid_backup")
    empty, empty_name = await create_postgres_database("redgrid_restore")
    try:
        before = await _fill(url, settings, clock)
        assert len(before) == 3
        result = await backup.backup(url=url, path=tmp_path / "redgrid.dump")
        assert result.kind == "postgresql"
        assert result.path.read_bytes().startswith(b"PGDMP")
        await backup.restore(url=empty, path=result.path)
        assert await _read(empty) == before
        # Restoring again over the restored data replaces it, and nothing is doubled.
        await backup.restore(url=empty, path=result.path)
        assert await _read(empty) == before
    finally:
        await drop_postgres_database(name)
        await drop_postgres_database(empty_name)


async def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a backup")
    with pytest.raises(backup.BackupError, match="not an SQLite backup"):
        await backup.restore(url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", path=bogus)
    with pytest.raises(backup.BackupError, match="not a PostgreSQL"):
        await backup.restore(url="postgresql+asyncpg://u@localhost/x", path=bogus)
    with pytest.raises(backup.BackupError, match="no backup file"):
        await backup.restore(url="postgresql+asyncpg://u@localhost/x", path=tmp_path / "none")


async def test_a_missing_pg_dump_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(backup.BackupError, match="pg_dump is not installed"):
        await backup.backup(url="postgresql+asyncpg://u@localhost/x", path=tmp_path / "x.dump")
