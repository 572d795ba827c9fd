"""Engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from bot import files, sqlite_inline


def is_sqlite(url: str) -> bool:
    """True when the URL names an SQLite database."""
    return url.startswith("sqlite")


# Seconds a transaction waits for another process's SQLite write lock before "database is
# locked" (and for the process's one connection, see create_engine).
SQLITE_WAIT = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, open transactions, so SAVEPOINT works and a writer takes
    # the lock at BEGIN instead of failing half-way when two connections upgrade at once.
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Waiting for a lock held by another process is bot.sqlite_inline's, between turns of the
    # event loop: SQLite's own busy handler would sleep on the loop's thread.
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite_inline.InlineConnection):  # an in-memory database
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    # Straight to the driver: as a statement, BEGIN cost every transaction a statement's worth
    # of SQLAlchemy's execution machinery. Its errors are wrapped as a statement's would be.
    try:
        await_(driver.begin_immediate())
    except sqlite3.Error as error:
        raise DBAPIError.instance("BEGIN IMMEDIATE", (), error, sqlite3.Error) from error


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    sqlite_wait: float = SQLITE_WAIT,
    pool_timeout: float | None = None,
) -> AsyncEngine:
    """Create an async engine; SQLite gets WAL mode and foreign keys, its file is created
    owner-only (0600, in a 0700 folder when the folder is new).

    An SQLite file is used through bot.sqlite_inline (sqlite3 in the event loop's thread)
    with one connection per process: every transaction is a writer (BEGIN IMMEDIATE), so
    tasks queue for the connection without blocking the loop. `pool_timeout`: seconds a
    task waits for a free connection (SQLite: `sqlite_wait`; PostgreSQL: SQLAlchemy's 30).
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            # Owner-only before SQLite opens it: its -wal and -shm files take the same mode.
            files.private_file(Path(database))
            kwargs.update(
                async_creator=sqlite_inline.connector(database, busy_wait=sqlite_wait),
                pool_size=1,
                max_overflow=0,
                pool_timeout=sqlite_wait if pool_timeout is None else pool_timeout,
            )
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        if pool_timeout is not None:
            kwargs["pool_timeout"] = pool_timeout
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """A session factory; objects stay usable after commit (no implicit reloads)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
