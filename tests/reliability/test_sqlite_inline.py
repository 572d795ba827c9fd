"""SQLite in the event loop's thread (bot/sqlite_inline.py): a write lock held by another
process is waited for between turns of the loop, and a transaction then goes through."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.db import create_engine


async def test_another_process_s_write_lock_is_waited_for_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inline.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_wait=5.0)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing

        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1)"))

        writer = asyncio.create_task(write())
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the writer waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not writer.done()
        other.execute("ROLLBACK")
        other.close()
        await asyncio.wait_for(writer, 5)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_lock_held_past_the_wait_is_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "inline.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}", sqlite_wait=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        other.close()
        await engine.dispose()


async def test_tasks_take_turns_at_the_one_connection(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (x INTEGER)"))

        async def add(n: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                await asyncio.sleep(0)  # yield inside the transaction: others must wait
                await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

        await asyncio.gather(*(add(n) for n in range(50)))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT x FROM t ORDER BY rowid"))).scalars().all()
        assert len(rows) == 100
        assert all(rows[i] == rows[i + 1] for i in range(0, 100, 2))  # never interleaved
    finally:
        await engine.dispose()
