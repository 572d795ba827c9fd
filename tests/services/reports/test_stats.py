"""The three rates on a constructed data set whose right answers are worked out by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.exceptions import UserFacingError
from bot.services.reports import stats
from models import (
    Evaluation,
    OrgUnit,
    Person,
    Request,
    RequestStatus,
    ServiceRecord,
    TeamPairing,
    UnitKind,
    VolunteerProfile,
    VolunteerTask,
)
from tests import factories as f
from tests.conftest import TestDB

H = timedelta(hours=1)
NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 12:00 in Jimo, the month is almost over
DAY = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)  # when the November requests were made
_refs = itertools.count(1)


def _request(owner: OrgUnit, category_id: int, **values: Any) -> Request:
    """A request made on DAY: accept within 2 h, contact within 24 h, resolve within 72 h."""
    base: dict[str, Any] = {
        "reference": f"ST{next(_refs):06d}",
        "category_id": category_id,
        "owner_unit_id": owner.id,
        "status": RequestStatus.closed,
        "created_at": DAY,
        "accept_by": DAY + 2 * H,
        "contact_by": DAY + 24 * H,
        "resolve_by": DAY + 72 * H,
    }
    base.update(values)
    return Request(**base)


async def test_three_rates_by_hand(db: TestDB, settings: Settings) -> None:
    async with db.sessions() as session, session.begin():
        org = await f.org(session)
        cat = org.general.id
        g1, g2, community = org.grid, org.grid2, org.community
        rows = {
            # grid 1 ---------------------------------------------------------------------------
            # r1: accepted, contacted and resolved in time; judged solved + satisfied.
            "r1": _request(
                g1,
                cat,
                accepted_at=DAY + H,
                contacted_at=DAY + 3 * H,
                resolved_at=DAY + 48 * H,
            ),
            # r2: accepted late, contacted late, resolved late; judged partly + basic.
            "r2": _request(
                g1,
                cat,
                accepted_at=DAY + 5 * H,
                contacted_at=DAY + 30 * H,
                resolved_at=DAY + 80 * H,
            ),
            # r3: never accepted or contacted; still open past its resolve deadline.
            "r3": _request(g1, cat, status=RequestStatus.submitted),
            # r4: in time; judged twice: not solved (round 1), then solved but unsatisfied.
            "r4": _request(
                g1,
                cat,
                accepted_at=DAY + H,
                contacted_at=DAY + 2 * H,
                resolved_at=DAY + 70 * H,
            ),
            # r8: October: outside the period, must not count anywhere.
            "r8": _request(g1, cat, created_at=DAY - timedelta(days=31)),
            # grid 2 ---------------------------------------------------------------------------
            # r5: withdrawn before anyone contacted the resident: needs no contact.
            "r5": _request(g2, cat, status=RequestStatus.withdrawn),
            # r6: accepted, contacted, resolved in time; the resident answered neither question.
            "r6": _request(
                g2,
                cat,
                accepted_at=DAY + H,
                contacted_at=DAY + H,
                resolved_at=DAY + 10 * H,
            ),
            # the community itself -------------------------------------------------------------
            # r7: in time; judged not solved but satisfied.
            "r7": _request(
                community,
                cat,
                accepted_at=DAY + H,
                contacted_at=DAY + H,
                resolved_at=DAY + 5 * H,
            ),
        }
        session.add_all(rows.values())
        await session.flush()
        for key, round_, solved, satisfaction in (
            ("r1", 1, "solved", "satisfied"),
            ("r2", 1, "partly", "basic"),
            ("r4", 1, "not_solved", "unsatisfied"),
            ("r4", 2, "solved", "unsatisfied"),
            ("r6", 1, "none", "none"),
            ("r7", 1, "not_solved", "satisfied"),
            ("r8", 1, "solved", "satisfied"),
        ):
            session.add(
                Evaluation(
                    request_id=rows[key].id,
                    round=round_,
                    solved=solved,
                    satisfaction=satisfaction,
                    created_at=DAY + 90 * H,
                )
            )
        # A red-wrench team paired with the community, one volunteer, two tasks.
        team = await f.unit(session, kind=UnitKind.team, parent=org.district)
        session.add(TeamPairing(team_id=team.id, community_id=community.id))
        volunteer = Person(display_name="孙师傅")
        session.add(volunteer)
        await session.flush()
        session.add(VolunteerProfile(person_id=volunteer.id, team_id=team.id, skills=[]))
        # t1: claimed 30 min after it was made (within the 60-minute window), done, rated 5.
        # t2: claimed 2 h after it was made (late), not done yet.
        t1 = VolunteerTask(
            status="done",
            created_at=DAY,
            claimed_at=DAY + 0.5 * H,
            claimed_by_id=volunteer.id,
        )
        t2 = VolunteerTask(
            status="claimed",
            created_at=DAY,
            claimed_at=DAY + 2 * H,
            claimed_by_id=volunteer.id,
        )
        session.add_all([t1, t2])
        await session.flush()
        session.add(
            ServiceRecord(
                person_id=volunteer.id,
                team_id=team.id,
                task_id=t1.id,
                hours=2,
                rating=5,
                created_at=DAY + 3 * H,
            )
        )
        await session.flush()

        report = await stats.report(
            session, unit=community, period="2026-11", now=NOW, settings=settings
        )

    by_unit = {(row.unit.id, row.own): row.counts for row in report.rows}
    grid1, grid2, own = (
        by_unit[(g1.id, False)],
        by_unit[(g2.id, False)],
        by_unit[(community.id, True)],
    )

    # Grid 1: r1 r2 r3 r4 (r8 is October).
    assert grid1.received == 4
    assert grid1.accepted_on_time == 2  # r1, r4 (r2 late, r3 never)
    assert grid1.resolved == 3  # r1, r2, r4
    assert grid1.overdue == 2  # r2 resolved after resolve_by; r3 open past it
    # Response: all four needed contact (deadline passed or met); r1 and r4 in time: 2/4.
    assert (grid1.needing_contact, grid1.contacted_in_time) == (4, 2)
    assert grid1.response_rate == pytest.approx(0.5)
    # Evaluated: r1, r2, r4 (latest round of r4 is round 2) = 3.
    # Solved: r1 ("solved"), r4 round 2 ("solved") = 2; r2 "partly" is not solved: 2/3.
    assert grid1.evaluated == 3
    assert grid1.resolution_rate == pytest.approx(2 / 3)
    # Satisfied + basic: r1 satisfied, r2 basic = 2 (r4's latest is unsatisfied): 2/3.
    assert grid1.satisfaction_rate == pytest.approx(2 / 3)
    # Participation: evaluated 3 / reached resolution 3 (r1, r2, r4) = 1.
    assert grid1.participation_rate == pytest.approx(1.0)

    # Grid 2: r5 (withdrawn, never contacted: needs no contact), r6.
    assert (grid2.received, grid2.accepted_on_time, grid2.resolved, grid2.overdue) == (2, 1, 1, 0)
    assert grid2.response_rate == pytest.approx(1.0)  # r6 contacted in time: 1/1
    # r6's evaluation answered neither question: nothing evaluated, no rates.
    assert grid2.evaluated == 0
    assert grid2.resolution_rate is None and grid2.satisfaction_rate is None
    assert grid2.participation_rate == pytest.approx(0.0)  # 0 evaluated / 1 resolved

    # The community's own request r7: not solved (0/1) but satisfied (1/1).
    assert (own.received, own.evaluated, own.solved, own.satisfied) == (1, 1, 0, 1)

    # Total: 4 + 2 + 1 = 7 received; response (2 + 1 + 1) / (4 + 1 + 1) = 4/6.
    assert report.total.received == 7
    assert report.total.response_rate == pytest.approx(4 / 6)
    # Resolution: (2 + 0 + 0) / (3 + 0 + 1) = 2/4; satisfaction (2 + 0 + 1) / 4 = 3/4.
    assert report.total.resolution_rate == pytest.approx(2 / 4)
    assert report.total.satisfaction_rate == pytest.approx(3 / 4)

    # Composite scores (0.30 response, 0.35 resolution, 0.35 satisfaction):
    # grid 1: 0.30 * 0.5 + 0.35 * 2/3 + 0.35 * 2/3 = 0.15 + 0.4667 = 0.6167
    # grid 2: only the response rate is known: its weight carries the score, 1.0
    # team:   response 1/2 (t1 in the window, t2 not), resolution done/claimed 1/2,
    #         satisfaction 1/1 (one rating of 5): 0.30 * 0.5 + 0.35 * 0.5 + 0.35 * 1 = 0.675
    ranked = [(row.unit.id, row.score) for row in report.ranking]
    assert [unit_id for unit_id, _ in ranked] == [g2.id, team.id, g1.id]
    scores = dict(ranked)
    assert scores[g1.id] == pytest.approx(0.15 + 0.35 * 2 / 3 * 2)
    assert scores[g2.id] == pytest.approx(1.0)
    assert scores[team.id] == pytest.approx(0.675)


def test_period_bounds_are_local_months_and_years(settings: Settings) -> None:
    start, end, label = stats.period_bounds("2026-12", now=NOW, tz=settings.tz)
    assert label == "2026-12"
    assert start.isoformat() == "2026-12-01T00:00:00+08:00"
    assert end.isoformat() == "2027-01-01T00:00:00+08:00"
    assert stats.period_bounds(None, now=NOW, tz=settings.tz)[2] == "2026-11"
    assert stats.period_bounds("2026", now=NOW, tz=settings.tz)[2] == "2026"
    with pytest.raises(UserFacingError):
        stats.period_bounds("2026-13", now=NOW, tz=settings.tz)


def test_weights_come_from_the_config(settings: Settings) -> None:
    counts = stats.Counts(
        needing_contact=2, contacted_in_time=1, evaluated=1, resolution_base=1, solved=1
    )
    # response 0.5, resolution 1.0, satisfaction 0.0
    assert stats.composite(counts, settings) == pytest.approx(0.30 * 0.5 + 0.35 * 1.0)
    custom = settings.model_copy(
        update={"stats": settings.stats.model_copy(update={"weight_response": 1.0})}
    )
    assert stats.composite(counts, custom) == pytest.approx((0.5 + 0.35) / 1.7)
