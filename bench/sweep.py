"""Deadline sweep and per-unit stats over 1,000,000 requests on a throwaway PostgreSQL database.

Fills the demo district with a realistic mix (most requests closed over two years; ~14% open,
recent, some overdue) by INSERT ... SELECT generate_series, then times:
- the query that finds overdue requests (escalation.escalate_overdue's), on the full backlog;
- one sweep batch on that backlog (up to 100 escalations, each with its events and pushes);
- a steady-state sweep run one minute after the backlog was cleared (what runs every minute);
- the reminder sweep (reminders.remind_due) in steady state;
- the per-unit stats: counts by status per owner unit (one GROUP BY over every request), and
  the stats service's report for the district this month (`stats_ms`).
Each timed transaction is rolled back unless the step needs its effect. EXPLAIN plans go to
stderr. Prints one JSON object as its last line.
Usage: python bench/sweep.py [--requests 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import migrate, scheduler
from bot.config import load_settings
from bot.db import create_engine, session_factory
from bot.services.dispatch import escalation, reminders
from bot.services.org.importer import load_demo
from bot.services.reports import stats
from models import OrgUnit, Request, UnitKind

ADMIN_URL = os.environ.get(
    "REDGRID_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in Jimo


async def _admin(sql: str) -> None:
    import asyncpg

    base = make_url(ADMIN_URL)
    conn = await asyncpg.connect(
        host=base.host, port=base.port or 5432, user=base.username, database=base.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# Statuses by `g % 100`: 80% closed, 3% resolved, 3% rejected/withdrawn/merged, 14% open.
FILL = """
INSERT INTO requests (
    reference, category_id, title, description, address_text, place_scope, owner_unit_id,
    status, priority, urgent_reason, reporter_id, created_at, updated_at,
    accept_by, contact_by, resolve_by, accepted_at, contacted_at, resolved_at, closed_at)
SELECT
    'B-' || lpad(g::text, 8, '0'),
    (CAST(:categories AS integer[]))[1 + g % cardinality(CAST(:categories AS integer[]))],
    'bench request ' || g, '', '', 'common_area',
    (CAST(:units AS integer[]))[1 + (g / 7) % cardinality(CAST(:units AS integer[]))],
    s.status,
    CASE WHEN g % 50 = 0 THEN 'urgent' WHEN g % 997 = 0 THEN 'emergency' ELSE 'ordinary' END,
    '', CAST(:person0 AS integer) + g % CAST(:persons AS integer), s.created, s.created,
    s.created + interval '2 hours', s.created + interval '24 hours',
    s.created + interval '168 hours',
    CASE WHEN s.status IN ('submitted', 'returned', 'transferred', 'reopened', 'escalated')
         THEN NULL ELSE s.created + interval '40 minutes' END,
    CASE WHEN s.status IN ('submitted', 'returned', 'transferred', 'reopened', 'escalated',
                           'accepted') THEN NULL ELSE s.created + interval '3 hours' END,
    CASE WHEN s.status IN ('resolved', 'closed') THEN s.created + interval '3 days' END,
    CASE WHEN s.status IN ('closed', 'rejected', 'withdrawn', 'merged')
         THEN s.created + interval '6 days' END
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
CROSS JOIN LATERAL (
    SELECT
        CASE
            WHEN g % 100 < 80 THEN 'closed' WHEN g % 100 < 83 THEN 'resolved'
            WHEN g % 100 = 83 THEN 'rejected' WHEN g % 100 = 84 THEN 'withdrawn'
            WHEN g % 100 = 85 THEN 'merged' WHEN g % 100 < 89 THEN 'submitted'
            WHEN g % 100 < 92 THEN 'accepted' WHEN g % 100 < 95 THEN 'in_progress'
            WHEN g % 100 = 95 THEN 'waiting_for_resident' WHEN g % 100 = 96 THEN 'escalated'
            WHEN g % 100 = 97 THEN 'returned' WHEN g % 100 = 98 THEN 'transferred'
            ELSE 'reopened'
        END AS status,
        CASE
            -- finished: any time in the last two years
            WHEN g % 100 < 86
                THEN CAST(:now AS timestamptz) - interval '10 days'
                     - (g % 7919) * interval '131 min'
            -- waiting for acceptance: the last few hours (a third already past 2 h)
            WHEN g % 100 < 89 OR g % 100 > 95
                THEN CAST(:now AS timestamptz) - (g % 541) * interval '1 minute'
            -- being worked on: the last 8 days (an eighth past the 7-day deadline)
            ELSE CAST(:now AS timestamptz) - (g % 1153) * interval '10 minutes'
        END AS created
) AS s
"""


async def fill(engine: Any, count: int) -> dict[str, float]:
    """The demo district, 50,000 residents and `count` requests; returns timings."""
    started = time.perf_counter()
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await load_demo(session)
    async with sessions() as session:
        units = (
            (
                await session.execute(
                    select(OrgUnit.id).where(OrgUnit.kind.in_([UnitKind.grid, UnitKind.community]))
                )
            )
            .scalars()
            .all()
        )
        categories = (await session.execute(text("SELECT id FROM categories"))).scalars().all()
    persons = 50_000
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO persons (display_name, unit_room, created_at) "
                "SELECT 'resident ' || g, '', now() FROM generate_series(1, :n) AS g"
            ),
            {"n": persons},
        )
        offset = (await conn.execute(text("SELECT min(id) - 1 FROM persons"))).scalar_one()
    step = 250_000
    for first in range(1, count + 1, step):
        async with engine.begin() as conn:
            await conn.execute(
                text(FILL),
                {
                    "person0": offset + 1,
                    "persons": persons,
                    "categories": list(categories),
                    "units": list(units),
                    "first": first,
                    "last": min(first + step - 1, count),
                    "now": NOW,
                },
            )
    async with engine.begin() as conn:
        # The submission event of each open request (the reminder sweep reads it).
        await conn.execute(
            text(
                "INSERT INTO request_events (request_id, at, kind, to_status, note, visibility) "
                "SELECT id, created_at, 'submitted', 'submitted', '', 'public' FROM requests "
                "WHERE closed_at IS NULL AND resolved_at IS NULL"
            )
        )
    filled = time.perf_counter() - started
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return {
        "fill_s": round(filled, 1),
        "fill_and_analyze_s": round(time.perf_counter() - started, 1),
    }


async def explain(engine: Any, statement: Any) -> str:
    """EXPLAIN ANALYZE of a statement, rolled back."""
    async with engine.connect() as conn:
        compiled = statement.compile(engine.sync_engine, compile_kwargs={"literal_binds": True})
        rows = await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}"))
        plan = "\n".join(row[0] for row in rows)
        await conn.rollback()
    return plan


def overdue_query(now: datetime) -> Any:
    """The query of escalation.escalate_overdue, without the row locks."""
    from sqlalchemy import and_, or_

    missed = or_(
        and_(Request.accepted_at.is_(None), Request.accept_by <= now),
        and_(Request.resolved_at.is_(None), Request.resolve_by <= now),
    )
    return (
        select(Request.id)
        .join(OrgUnit, OrgUnit.id == Request.owner_unit_id)
        .where(Request.status.in_(escalation.CLIMBING), missed, OrgUnit.parent_id.is_not(None))
        .order_by(Request.resolve_by, Request.id)
        .limit(100)
    )


# What escalation would have done to each overdue request: status escalated, a fresh accept
# deadline (spread over the next day) and at least a day to resolve.
SETTLE = """
UPDATE requests SET
    status = 'escalated',
    accepted_at = NULL,
    accept_by = CAST(:now AS timestamptz) + (id % 1440 + 1) * interval '1 minute',
    resolve_by = greatest(resolve_by, CAST(:now AS timestamptz) + interval '25 hours')
WHERE id = ANY(CAST(:ids AS integer[]))
"""


REMIND_FRACTION = 0.25
REMINDED = """
INSERT INTO schedule_marks (job, subject_id, period, due_at, created_at)
SELECT 'reminder.{name}', id,
       to_char({due} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), {due},
       CAST(:now AS timestamptz)
FROM requests
WHERE {due} > CAST(:now AS timestamptz) AND {met} IS NULL
  AND status NOT IN ('waiting_for_resident', 'resolved', 'closed', 'merged', 'rejected',
                     'withdrawn')
  AND extract(epoch FROM {due} - CAST(:now AS timestamptz))
      <= CAST(:fraction AS float) * extract(epoch FROM {due} - created_at)
ON CONFLICT DO NOTHING
"""


async def backlog_ids(engine: Any) -> list[int]:
    """Every request the deadline sweep would escalate at NOW."""
    async with engine.connect() as conn:
        rows = await conn.execute(overdue_query(NOW).limit(None))
        return [row[0] for row in rows]


async def timed_count(engine: Any, statement: Any) -> int:
    """How many rows a statement returns."""
    async with engine.connect() as conn:
        return len((await conn.execute(statement)).all())


def stats_query() -> Any:
    """Counts by status per owner unit."""
    return select(Request.owner_unit_id, Request.status, func.count()).group_by(
        Request.owner_unit_id, Request.status
    )


async def timed(engine: Any, statement: Any, repeat: int = 5) -> float:
    """The best of `repeat` runs of a statement, in ms."""
    best = float("inf")
    async with engine.connect() as conn:
        for _ in range(repeat):
            started = time.perf_counter()
            (await conn.execute(statement)).all()
            best = min(best, time.perf_counter() - started)
        await conn.rollback()
    return best * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    os.environ.setdefault("REDGRID_CONFIG", "/nonexistent-config.yaml")
    settings = load_settings()
    database = f"redgrid_bench_sweep_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{database}"')
    url = make_url(ADMIN_URL).set(database=database).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        figures: dict[str, Any] = await fill(engine, args.requests)
        sessions = session_factory(engine)
        async with sessions() as session:
            total = (await session.execute(select(func.count()).select_from(Request))).scalar_one()
            backlog = (
                await session.execute(
                    select(func.count()).select_from(overdue_query(NOW).limit(None).subquery())
                )
            ).scalar_one()
        print(await explain(engine, overdue_query(NOW)), file=sys.stderr)
        print(await explain(engine, stats_query()), file=sys.stderr)
        figures["overdue_backlog"] = backlog
        figures["sweep_query_ms"] = round(await timed(engine, overdue_query(NOW)), 1)

        # One batch on the whole backlog (rolled back, so it can be repeated).
        async with sessions() as session, session.begin():
            started = time.perf_counter()
            batch = await escalation.escalate_overdue(session, now=NOW, settings=settings)
            figures["sweep_backlog_batch_ms"] = round((time.perf_counter() - started) * 1000, 1)
            figures["sweep_backlog_batch_size"] = len(batch)
            await session.rollback()

        # Steady state: the sweep has kept up, so every request that was overdue climbed
        # earlier and got new deadlines, spread over the next day (set in SQL: running 1e4+
        # workflow transitions here would only measure the backlog). Then time the minute.
        async with engine.begin() as conn:
            settled = await conn.execute(
                text(SETTLE), {"now": NOW, "ids": [row for row in await backlog_ids(engine)]}
            )
            figures["settled"] = settled.rowcount
        later = NOW + timedelta(minutes=1)
        figures["sweep_minute_due"] = await timed_count(engine, overdue_query(later).limit(None))
        started = time.perf_counter()
        figures["sweep_minute_escalated"] = await scheduler.run_job(
            "escalate", sessions=sessions, settings=settings, clock=lambda: later
        )
        figures["sweep_ms"] = round((time.perf_counter() - started) * 1000, 1)
        figures["sweep_minute_query_ms"] = round(await timed(engine, overdue_query(later)), 1)

        # Likewise the reminder sweep has kept up: what was due by `later` was reminded.
        async with engine.begin() as conn:
            for deadline, due, met in (
                ("accept", "accept_by", "accepted_at"),
                ("contact", "contact_by", "contacted_at"),
                ("resolve", "resolve_by", "resolved_at"),
            ):
                sql = REMINDED.format(name=deadline, due=due, met=met)
                await conn.execute(text(sql), {"now": later, "fraction": REMIND_FRACTION})
            await conn.execute(text("ANALYZE requests"))
            await conn.execute(text("ANALYZE schedule_marks"))
        minute = later + timedelta(minutes=1)
        async with sessions() as session, session.begin():
            started = time.perf_counter()
            sent = await reminders.remind_due(session, now=minute, settings=settings)
            figures["reminders_ms"] = round((time.perf_counter() - started) * 1000, 1)
            figures["reminders_sent"] = len(sent)
            await session.rollback()

        figures["stats_group_by_ms"] = round(await timed(engine, stats_query()), 1)
        # The stats service (three rates per child unit) for the district, this month.
        async with sessions() as session:
            district = (
                await session.execute(select(OrgUnit).where(OrgUnit.kind == UnitKind.district))
            ).scalar_one()
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                await stats.report(session, unit=district, period=None, now=NOW, settings=settings)
                best = min(best, time.perf_counter() - started)
        figures["stats_ms"] = round(best * 1000, 1)
        result = {
            "requests": total,
            "sweep_ms": figures["sweep_ms"],
            "stats_ms": figures["stats_ms"],
        }
        print(json.dumps({**figures, **result}), file=sys.stderr)
        print(json.dumps(result))
    finally:
        await engine.dispose()
        if not args.keep:
            await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
