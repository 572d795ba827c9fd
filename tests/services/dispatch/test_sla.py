"""Deadline arithmetic with an injected clock: no sleeping, no reading the real time."""

from __future__ import annotations

from datetime import timedelta

from bot.services.cases import workflow
from bot.services.dispatch import sla
from models import Category, Person, Priority, Request, RequestStatus
from tests import factories as f
from tests.conftest import TestDB

H = timedelta(hours=1)


def _category(hours: int) -> Category:
    return Category(slug="x", name_zh="x", name_en="x", sla_hours=hours)


def test_compute_per_category_and_priority() -> None:
    config, now = f.settings(), f.NOW
    general = sla.compute(
        category=_category(168), priority=Priority.ordinary, now=now, settings=config
    )
    assert (general.accept_by, general.contact_by, general.resolve_by) == (
        now + 2 * H,
        now + 24 * H,
        now + 168 * H,
    )
    plumbing = sla.compute(
        category=_category(24), priority=Priority.ordinary, now=now, settings=config
    )
    assert plumbing.resolve_by == now + 24 * H
    urgent = sla.compute(category=_category(72), priority=Priority.urgent, now=now, settings=config)
    assert urgent.resolve_by == now + 24 * H
    emergency = sla.compute(
        category=_category(168), priority=Priority.emergency, now=now, settings=config
    )
    # Nothing can be due after the resolve deadline.
    assert emergency.resolve_by == emergency.accept_by == emergency.contact_by == now + 2 * H
    tight = f.settings(sla={"accept_hours": 0.5})
    assert sla.compute(
        category=_category(72), priority=Priority.ordinary, now=now, settings=tight
    ).accept_by == now + timedelta(minutes=30)


def test_shift_moves_only_pending_deadlines_and_overdue() -> None:
    now = f.NOW
    request = Request(
        status=RequestStatus.in_progress,
        accept_by=now,
        contact_by=now + H,
        resolve_by=now + 2 * H,
        accepted_at=now - H,
    )
    sla.shift(request, paused=3 * H)
    assert request.accept_by == now  # met already
    assert (request.contact_by, request.resolve_by) == (now + 4 * H, now + 5 * H)
    assert sla.overdue(request, now=now + 4 * H) == ["contact"]
    assert sla.overdue(request, now=now + 5 * H) == ["contact", "resolve"]
    request.status = RequestStatus.waiting_for_resident
    assert sla.overdue(request, now=now + 10 * H) == []


async def test_waiting_for_resident_stops_the_clocks(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        resolve_by = request.resolve_by
        assert resolve_by == f.NOW + 168 * H
        t = f.NOW + H
        await workflow.transition(
            session, request=request, action="accept", actor=org.staff, now=t, settings=config
        )
        await workflow.transition(
            session, request=request, action="ask_info", actor=org.staff, now=t, settings=config
        )
        assert await sla.paused_since(session, request=request) == t
        # The resident answers 30 hours later: the resolve deadline moves by 30 h; asking them was
        # the contact (in time), so the contact deadline has nothing left to wait for.
        reporter = await session.get(Person, request.reporter_id)
        assert reporter is not None
        await workflow.add_information(
            session, request=request, person=reporter, text="photo", now=t + 30 * H, settings=config
        )
        assert request.status == RequestStatus.accepted  # back where it was
        assert request.resolve_by == resolve_by + 30 * H
        assert request.contacted_at == t and request.contact_by == f.NOW + 24 * H
        assert await sla.paused_since(session, request=request) is None
        # Twice: two pauses add up.
        await workflow.transition(
            session,
            request=request,
            action="ask_info",
            actor=org.staff,
            now=t + 40 * H,
            settings=config,
        )
        await workflow.transition(
            session,
            request=request,
            action="resolve",
            actor=org.staff,
            now=t + 50 * H,
            settings=config,
        )
        assert request.resolve_by == resolve_by + 40 * H
        assert request.resolved_at == t + 50 * H
