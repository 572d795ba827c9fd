"""The three rates per unit (响应率, 解决率, 满意率) and a ranking by a composite score.

For the requests created in the period and owned (now) by a unit or its subtree:
  response rate     = contacted by `contact_by` / dispatched needing contact
                      (contacted: 已联系居民 pressed, a public note, a question to the resident,
                      or the request resolved: each of them reaches the resident)
                      (needing contact: a contact deadline that has passed or was met; requests
                      merged or withdrawn before anyone contacted the resident are left out)
  resolution rate   = judged "solved" / evaluated
  satisfaction rate = ("satisfied" + "basic") / evaluated
  participation     = evaluated / requests that reached resolution (resolved or evaluated)
where "evaluated" counts a request once, by its latest evaluation round, unless the resident
answered neither question. Also: received, accepted on time (by `accept_by`), resolved, overdue
(resolved after `resolve_by`, or open past it, not counting waits for the resident).

Teams are rated on their volunteer tasks: response = claimed within the widening window,
resolution = done / claimed, satisfaction = ratings of 4 or 5 / rated.

One aggregate query grouped by owner unit does the request counting (index
ix_requests_owner_created serves `owner_unit_id IN (...) AND created_at` ranges); rolling
owners up into child units happens in Python over the (small) list of units.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.exceptions import UserFacingError
from models import (
    Evaluation,
    OrgUnit,
    Request,
    RequestStatus,
    ServiceRecord,
    TaskStatus,
    TeamPairing,
    UnitKind,
    VolunteerProfile,
    VolunteerTask,
)

# Child units shown in a breakdown: the tree below a unit, and workstations beside it.
BREAKDOWN_KINDS = frozenset(
    {
        UnitKind.street,
        UnitKind.community,
        UnitKind.grid,
        UnitKind.building_group,
        UnitKind.household,
        UnitKind.workstation,
    }
)
RANKED_KINDS = (UnitKind.grid, UnitKind.workstation, UnitKind.team)
COUNT_FIELDS = (
    "received",
    "accepted_on_time",
    "resolved",
    "overdue",
    "needing_contact",
    "contacted_in_time",
    "evaluated",
    "solved",
    "satisfied",
    "rateable",
    "resolution_base",
)


@dataclass(slots=True)
class Counts:
    """Raw counts; the rates are derived from them."""

    received: int = 0
    accepted_on_time: int = 0
    resolved: int = 0
    overdue: int = 0
    needing_contact: int = 0
    contacted_in_time: int = 0
    evaluated: int = 0
    solved: int = 0
    satisfied: int = 0
    rateable: int = 0
    # The resolution rate's denominator: requests evaluated; for teams, tasks claimed.
    resolution_base: int = 0

    def add(self, other: Counts) -> None:
        """Add another unit's counts into these."""
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def response_rate(self) -> float | None:
        return _rate(self.contacted_in_time, self.needing_contact)

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.solved, self.resolution_base)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.evaluated)

    @property
    def participation_rate(self) -> float | None:
        return _rate(self.evaluated, self.rateable)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(slots=True)
class UnitStats:
    """One row of a breakdown or a ranking."""

    unit: OrgUnit
    counts: Counts = field(default_factory=Counts)
    own: bool = False  # the parent unit's own requests (not those of a child)
    score: float | None = None


@dataclass(slots=True)
class Report:
    """Statistics of one unit for one period: a row per child unit, a total and a ranking."""

    unit: OrgUnit
    period: str
    start: datetime
    end: datetime
    rows: list[UnitStats]
    total: Counts
    ranking: list[UnitStats]


PERIOD_PATTERN = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


def period_bounds(
    period: str | None, *, now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime, str]:
    """The period "2026-11" (a month) or "2026" (a year), in local time; default this month."""
    local = now.astimezone(tz)
    text = (period or f"{local.year:04d}-{local.month:02d}").strip()
    match = PERIOD_PATTERN.match(text)
    if match is None or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise UserFacingError("admin.error.period", period=text[:20])
    year = int(match.group(1))
    if match.group(2) is None:
        start = datetime(year, 1, 1, tzinfo=tz)
        end = datetime(year + 1, 1, 1, tzinfo=tz)
        return start, end, f"{year:04d}"
    month = int(match.group(2))
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start, end, f"{year:04d}-{month:02d}"


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def request_counts(
    session: AsyncSession, *, unit_ids: Sequence[int], start: datetime, end: datetime, now: datetime
) -> dict[int, Counts]:
    """Counts per owner unit of the requests created in [start, end)."""
    if not unit_ids:
        return {}
    latest, later = aliased(Evaluation), aliased(Evaluation)
    answered = or_(latest.solved != "none", latest.satisfaction != "none")
    newest = ~exists().where(later.request_id == latest.request_id, later.round > latest.round)
    r = Request
    clocks_running = r.status.notin_([RequestStatus.waiting_for_resident, *_CLOSED])
    overdue = or_(
        and_(r.resolved_at.is_not(None), r.resolve_by.is_not(None), r.resolved_at > r.resolve_by),
        and_(r.resolved_at.is_(None), r.resolve_by <= now, clocks_running),
    )
    skipped = and_(
        r.contacted_at.is_(None), r.status.in_([RequestStatus.merged, RequestStatus.withdrawn])
    )
    needing = and_(
        r.contact_by.is_not(None),
        or_(r.contacted_at.is_not(None), r.contact_by <= now),
        not_(skipped),
    )
    query = (
        select(
            r.owner_unit_id,
            func.count(r.id),
            _flag(and_(r.accepted_at.is_not(None), r.accepted_at <= r.accept_by)),
            _flag(r.resolved_at.is_not(None)),
            _flag(overdue),
            _flag(needing),
            _flag(and_(r.contacted_at.is_not(None), r.contacted_at <= r.contact_by)),
            func.count(latest.id),
            _flag(latest.solved == "solved"),
            _flag(latest.satisfaction.in_(["satisfied", "basic"])),
            _flag(or_(r.resolved_at.is_not(None), latest.id.is_not(None))),
            func.count(latest.id),
        )
        .select_from(r)
        .outerjoin(latest, and_(latest.request_id == r.id, newest, answered))
        .where(r.owner_unit_id.in_(list(unit_ids)), r.created_at >= start, r.created_at < end)
        .group_by(r.owner_unit_id)
    )
    found: dict[int, Counts] = {}
    for row in (await session.execute(query)).all():
        found[row[0]] = Counts(*(int(value or 0) for value in row[1:]))
    return found


_CLOSED = (
    RequestStatus.closed,
    RequestStatus.merged,
    RequestStatus.rejected,
    RequestStatus.withdrawn,
    RequestStatus.resolved,
)


async def team_counts(
    session: AsyncSession,
    *,
    team_ids: Sequence[int],
    start: datetime,
    end: datetime,
    settings: Settings,
) -> dict[int, Counts]:
    """Counts per team of the tasks its volunteers claimed in [start, end)."""
    if not team_ids:
        return {}
    window = timedelta(minutes=settings.volunteers.widen_after_minutes)
    task = VolunteerTask
    query = (
        select(task.created_at, task.claimed_at, task.status, VolunteerProfile.team_id)
        .add_columns(ServiceRecord.rating)
        .join(VolunteerProfile, VolunteerProfile.person_id == task.claimed_by_id)
        .outerjoin(ServiceRecord, ServiceRecord.task_id == task.id)
        .where(
            VolunteerProfile.team_id.in_(list(team_ids)),
            task.claimed_at >= start,
            task.claimed_at < end,
        )
    )
    found: dict[int, Counts] = {}
    for created, claimed_at, status, team_id, rating in (await session.execute(query)).all():
        counts = found.setdefault(team_id, Counts())
        counts.received += 1
        counts.needing_contact += 1
        counts.contacted_in_time += int(claimed_at - created <= window)
        counts.resolution_base += 1
        if status == TaskStatus.done:
            counts.resolved += 1
            counts.solved += 1
            counts.rateable += 1
        if rating is not None:
            counts.evaluated += 1
            counts.satisfied += int(rating >= 4)
    return found


def composite(counts: Counts, settings: Settings) -> float | None:
    """The weighted score; weights of rates without data are shared among the others."""
    cfg = settings.stats
    parts = [
        (cfg.weight_response, counts.response_rate),
        (cfg.weight_resolution, counts.resolution_rate),
        (cfg.weight_satisfaction, counts.satisfaction_rate),
    ]
    known = [(w, r) for w, r in parts if r is not None and w > 0]
    weight = sum(w for w, _ in known)
    return sum(w * r for w, r in known) / weight if weight else None


def _roll_up(target: OrgUnit, owners: dict[int, Counts], paths: dict[int, str]) -> Counts:
    total = Counts()
    for owner_id, counts in owners.items():
        if paths.get(owner_id, "").startswith(target.path):
            total.add(counts)
    return total


async def report(
    session: AsyncSession,
    *,
    unit: OrgUnit,
    period: str | None,
    now: datetime,
    settings: Settings,
) -> Report:
    """The statistics of a unit for a period, per child unit, with the ranking."""
    start, end, label = period_bounds(period, now=now, tz=settings.tz)
    subtree = list(
        (
            await session.execute(
                select(OrgUnit).where(OrgUnit.path.startswith(unit.path)).order_by(OrgUnit.path)
            )
        ).scalars()
    )
    paths = {u.id: u.path for u in subtree}
    owners = await request_counts(session, unit_ids=list(paths), start=start, end=end, now=now)
    rows: list[UnitStats] = []
    own = owners.get(unit.id)
    if own is not None:
        rows.append(UnitStats(unit, own, own=True))
    for child in subtree:
        if child.parent_id == unit.id and child.kind in BREAKDOWN_KINDS:
            rows.append(UnitStats(child, _roll_up(child, owners, paths)))
    total = Counts()
    for counts in owners.values():
        total.add(counts)
    ranking = [
        UnitStats(u, _roll_up(u, owners, paths))
        for u in subtree
        if u.kind in (UnitKind.grid, UnitKind.workstation)
    ]
    ranking += await _team_rows(session, units=subtree, start=start, end=end, settings=settings)
    for row in [*rows, *ranking]:
        row.score = composite(row.counts, settings)
    ranking = [r for r in ranking if r.counts.received and r.score is not None]
    ranking.sort(key=lambda r: (-(r.score or 0.0), r.unit.kind.value, r.unit.code))
    return Report(unit, label, start, end, rows, total, ranking)


async def _team_rows(
    session: AsyncSession,
    *,
    units: Sequence[OrgUnit],
    start: datetime,
    end: datetime,
    settings: Settings,
) -> list[UnitStats]:
    communities = [u.id for u in units if u.kind == UnitKind.community]
    if not communities:
        return []
    team_ids = select(TeamPairing.team_id).where(TeamPairing.community_id.in_(communities))
    teams = list(
        (
            await session.execute(
                select(OrgUnit).where(OrgUnit.id.in_(team_ids)).order_by(OrgUnit.code)
            )
        ).scalars()
    )
    counts = await team_counts(
        session, team_ids=[t.id for t in teams], start=start, end=end, settings=settings
    )
    return [UnitStats(team, counts.get(team.id, Counts())) for team in teams]
