"""SQLite for SQLAlchemy's asyncio engine, run in the event loop's own thread.

SQLAlchemy's `sqlite+aiosqlite` dialect talks to a connection with aiosqlite's interface.
aiosqlite runs every call (open a cursor, execute, fetch, close: four per statement) in a
thread of its own and wakes the event loop for each answer; with several connections those
threads and the loop also take turns at the GIL. For the short statements of one update that
costs far more than the statements themselves. This connection offers the same interface but
calls sqlite3 directly: nothing is handed to another thread, and nothing yields to the loop
in the middle of a transaction.

Two things keep that safe:
- one connection per process (`pool_size=1`, see bot/db.py): every transaction here is a
  writer (BEGIN IMMEDIATE), so tasks wait their turn in the pool, asynchronously;
- SQLite's own busy handler never sleeps on the loop's thread (busy_timeout 0): when another
  process holds the write lock, `execute` waits for it with `asyncio.sleep` between tries,
  up to `busy_wait` seconds, then raises SQLite's "database is locked" as before.
A long statement (a big report) does hold the loop for its duration: larger districts belong
on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from typing import Any

SQLITE_BUSY = 5
# Waits between tries for a write lock held by another process: short first, then 50 ms.
_BACKOFF = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


class InlineCursor:
    """aiosqlite's Cursor interface over a sqlite3 cursor."""

    __slots__ = ("_busy_wait", "_cursor")

    def __init__(self, cursor: sqlite3.Cursor, busy_wait: float) -> None:
        self._cursor = cursor
        self._busy_wait = busy_wait

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._self().__await__()

    async def _self(self) -> InlineCursor:
        return self

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._when_free(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)
        await self._when_free(lambda: self._cursor.executemany(sql, rows))
        return self

    async def _when_free(self, call: Callable[[], object]) -> None:
        """Run `call`; while another process holds the lock, try again after a short sleep.
        A statement refused with SQLITE_BUSY did nothing, so trying it again is safe."""
        deadline: float | None = None
        for attempt in range(1_000_000):
            try:
                call()
                return
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorcode", 0) & 0xFF != SQLITE_BUSY:
                    raise
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + self._busy_wait
                if now >= deadline:
                    raise
                await asyncio.sleep(min(_BACKOFF[min(attempt, len(_BACKOFF) - 1)], deadline - now))

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _AtOnce:
    """Stands in for aiosqlite's queue to its thread (SQLAlchemy sets isolation_level
    through it): runs the function now and settles the future."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting caller
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    """aiosqlite's Connection interface over a sqlite3 connection, as SQLAlchemy uses it."""

    def __init__(self, conn: sqlite3.Connection, busy_wait: float) -> None:
        self._conn = conn
        self._busy_wait = busy_wait
        self._tx = _AtOnce()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """SQLAlchemy reads this to tell whether the connection is still open."""
        return self._conn if self._open else None

    _open = True

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self._busy_wait)

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def begin_immediate(self) -> None:
        """Open a writing transaction, waiting (asynchronously) for another process's lock."""
        await self.cursor()._when_free(lambda: self._conn.execute("BEGIN IMMEDIATE"))

    async def commit(self) -> None:
        await self.cursor()._when_free(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._open:
            self._open = False
            self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def connector(path: str, *, busy_wait: float) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for create_async_engine: opens `path` with SQLite's own busy
    handler off (the waiting is done by `InlineCursor`, without blocking the loop)."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from another thread.
        conn = sqlite3.connect(path, check_same_thread=False, timeout=0)
        return InlineConnection(conn, busy_wait)

    return connect
