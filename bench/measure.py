"""What the benches measure on this machine: a process's CPU so far, and which PostgreSQL
backends serve a database (their CPU is the database's share of a run)."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


async def backends(url: str) -> list[int]:
    """The PostgreSQL backends serving the database at `url`."""
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", parsed.database
        )
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]
