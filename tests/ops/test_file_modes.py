"""Files holding residents' data are owner-only whatever the umask: the SQLite database and its
-wal/-shm, backups, exports, chart images and meeting notices (0600 files, 0700 new folders);
exports are deleted after exports.keep_hours."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import migrate
from bot.config import Settings
from bot.db import create_engine
from bot.scheduler import run_job
from bot.services.meetings import notice as qr
from bot.services.storage import backup
from models import Role, utcnow
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Bot,
    TestDB,
    create_postgres_database,
    drop_postgres_database,
)
from tests.handlers.journey import onboard, report_light
from tests.handlers.privacy_journey import staff_does
from tests.handlers.staff_journey import pump, staff_chat


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The loosest umask: every file would be world-readable and -writable by default."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_the_sqlite_database_and_its_backups_are_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "data" / "redgrid.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:  # WAL files exist while it is open
            await connection.exec_driver_sql("SELECT count(*) FROM persons")
            journals = [Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert all(p.exists() for p in journals)
            assert [mode(p) for p in journals] == [0o600, 0o600]
    finally:
        await engine.dispose()
    assert mode(database) == 0o600 and mode(database.parent) == 0o700
    url = f"sqlite+aiosqlite:///{database}"
    made = await backup.backup(url=url, path=tmp_path / "backups" / "nightly" / "redgrid.bak")
    assert mode(made.path) == 0o600
    assert mode(made.path.parent) == 0o700 and mode(made.path.parent.parent) == 0o700
    restored = tmp_path / "restored" / "redgrid.sqlite3"
    await backup.restore(url=f"sqlite+aiosqlite:///{restored}", path=made.path)
    assert mode(restored) == 0o600 and mode(restored.parent) == 0o700


async def test_a_postgres_backup_is_owner_only(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = await create_postgres_database("redgrid_modes")
    try:
        engine = create_engine(url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()
        made = await backup.backup(url=url, path=tmp_path / "dumps" / "redgrid.dump")
        assert made.path.read_bytes().startswith(b"PGDMP")
        assert mode(made.path) == 0o600 and mode(made.path.parent) == 0o700
    finally:
        await drop_postgres_database(name)


async def test_exports_charts_and_notices_are_owner_only(
    bot: Bot, settings: Settings, tmp_path: Path
) -> None:
    settings.stats.export_dir = tmp_path / "exports"
    grid = await staff_chat(bot)  # works the request, so the chart has rates to draw
    resident = bot.chat("modes-resident")
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await grid.press("签收")
    await staff_does(bot, grid, reference, "resolve", "已更换灯泡")
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/stats heshun 2026-11")
    await admin.send("/export")
    made = [m.photo or m.document for m in admin.messages if m.photo or m.document]
    assert len(made) == 4  # the chart and three workbooks (requests, service, dual reporting)
    for path in made:
        assert path is not None
        assert mode(path) == 0o600 and mode(Path(path).parent) == 0o700, path
    assert mode(settings.stats.export_dir) == 0o700
    settings.meetings.notice_dir = tmp_path / "notices"
    notice = qr.write_notice(settings, meeting_id=7, png=b"\x89PNG notice")
    assert mode(notice) == 0o600 and mode(notice.parent) == 0o700


async def test_exports_are_deleted_after_keep_hours(
    db: TestDB, settings: Settings, tmp_path: Path
) -> None:
    settings.stats.export_dir = tmp_path / "exports"
    settings.exports.keep_hours = 24
    old, fresh = tmp_path / "exports" / "a1" / "old.xlsx", tmp_path / "exports" / "b2" / "new.xlsx"
    for path in (old, fresh):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"PK export")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    removed = await run_job("expire_exports", sessions=db.sessions, settings=settings, clock=utcnow)
    assert removed == 1
    assert not old.exists() and not old.parent.exists()
    assert fresh.read_bytes() == b"PK export"
