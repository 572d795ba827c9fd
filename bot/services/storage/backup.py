"""Backups: copy the whole database to a file, and restore it from one.

SQLite uses its online backup API (a consistent copy while the bot keeps running); PostgreSQL
uses `pg_dump --format=custom` and `pg_restore` when the client tools are installed. The
password travels in PGPASSWORD, never on the command line where `ps` would show it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot import files
from bot.db import is_sqlite
from bot.exceptions import RedgridError

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(RedgridError):
    """A backup or restore could not be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    kind: str  # sqlite | postgresql
    size: int


async def backup(*, url: str, path: Path) -> BackupResult:
    """Copy the database at `url` into the file `path` (replaced if it exists)."""
    # Created owner-only before anything is written into it: it holds every resident's data.
    await asyncio.to_thread(files.private_file, path)
    if is_sqlite(url):
        await asyncio.to_thread(_sqlite_copy, _sqlite_file(url, must_exist=True), path)
        return BackupResult(path, "sqlite", await _size(path))
    target = make_url(url)
    await _run(
        _tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={path}",
        *_pg_args(target),
        env=_pg_env(target),
    )
    return BackupResult(path, "postgresql", await _size(path))


async def restore(*, url: str, path: Path) -> None:
    """Replace the contents of the database at `url` with the backup in `path`."""
    header = await asyncio.to_thread(_header, path)
    if is_sqlite(url):
        if not header.startswith(SQLITE_HEADER):
            raise BackupError(f"{path} is not an SQLite backup (made by `redgrid db backup`)")
        await asyncio.to_thread(_sqlite_copy, path, _sqlite_file(url, must_exist=False))
        return
    if not header.startswith(PG_DUMP_HEADER):
        raise BackupError(f"{path} is not a PostgreSQL custom-format dump (pg_dump -Fc)")
    target = make_url(url)
    await _run(
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        *_pg_args(target),
        str(path),
        env=_pg_env(target),
    )


async def _size(path: Path) -> int:
    return (await asyncio.to_thread(path.stat)).st_size


def _header(path: Path) -> bytes:
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    with path.open("rb") as file:
        return file.read(16)


def _sqlite_file(url: str, *, must_exist: bool) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    path = Path(database)
    if must_exist and not path.is_file():
        raise BackupError(f"no database file at {path}")
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    """Page-by-page online copy; readers and writers of `source` may carry on meanwhile."""
    files.private_file(target)  # SQLite takes an empty file for a new database
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=1024)
        # A restored file keeps the bot's journal mode; a backup file is self-contained.
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        dst.close()
        src.close()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools "
            f"(e.g. `apt-get install postgresql-client`) to back up or restore PostgreSQL"
        )
    return found


def _pg_args(url: URL) -> list[str]:
    args = [f"--dbname={url.database}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    return [*args, "--no-password"]


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


async def _run(*command: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _out, err = await process.communicate()
    if process.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed: {detail[-1] if detail else process.returncode}")
