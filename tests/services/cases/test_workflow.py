"""The request state machine: every status x action, rights, notifications, evaluation, sweeps."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import InvalidTransition, NotAllowed
from bot.messages import Outgoing
from bot.services.cases import actions as cases_actions
from bot.services.cases import intake, workflow
from bot.services.cases.transitions import STAFF
from bot.services.comms import notify
from bot.services.dispatch import escalation
from models import (
    CategoryCorrection,
    ChannelIdentity,
    Evaluation,
    OutboxMessage,
    Person,
    Priority,
    Request,
    RequestEvent,
    RequestFollower,
    RequestPhoto,
    RequestStatus,
    Role,
    Visibility,
)
from tests import factories as f
from tests.conftest import TestDB

A = workflow.Action
H = timedelta(hours=1)


async def _count(session: AsyncSession, model: Any, **where: Any) -> int:
    query = select(func.count()).select_from(model).filter_by(**where)
    return int((await session.execute(query)).scalar_one())


async def _outbox(session: AsyncSession, request: Request) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.request_id == request.id)
    return list((await session.execute(query.order_by(OutboxMessage.id))).scalars())


async def _to(session: AsyncSession, request: Request, person: Person) -> list[OutboxMessage]:
    return [m for m in await _outbox(session, request) if m.person_id == person.id]


def _kwargs(action: A, org: f.Org, other: Request) -> dict[str, Any]:
    options: dict[A, dict[str, Any]] = {
        A.return_: {"reason": "not our grid"},
        A.reject: {"reason": "not a public matter"},
        A.transfer: {"target_unit_id": org.grid2.id},
        A.merge: {"merge_into": other},
    }
    return options.get(action, {})


@pytest.mark.parametrize("action", list(A))
async def test_every_status_for_one_action(db: TestDB, action: A) -> None:
    """Allowed from exactly the table's statuses; a refusal changes nothing at all."""
    rule = workflow.RULES[action]
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        other = await f.request(session, org=org)
        for status in RequestStatus:
            request = await f.request(session, org=org)
            request.status = status
            await session.flush()
            reporter = await session.get(Person, request.reporter_id)
            actor = org.staff if STAFF in rule.by else reporter
            events = await _count(session, RequestEvent, request_id=request.id)
            rows = len(await _outbox(session, request))
            call = workflow.transition(
                session,
                request=request,
                action=action,
                actor=actor,
                now=f.NOW + H,
                settings=config,
                **_kwargs(action, org, other),
            )
            if status not in rule.sources:
                with pytest.raises(InvalidTransition):
                    await call
                assert request.status == status
                assert await _count(session, RequestEvent, request_id=request.id) == events
                assert len(await _outbox(session, request)) == rows
                continue
            event = await call
            expected = rule.target or status
            if action == A.add_info and status == RequestStatus.waiting_for_resident:
                expected = RequestStatus.in_progress  # no earlier status recorded: resumes work
            assert (event.kind, event.from_status, event.to_status) == (
                action.value,
                status.value,
                expected.value,
            ), status
            assert request.status == expected
            assert await _count(session, RequestEvent, request_id=request.id) == events + 1


async def test_allowed_actions_matches_table() -> None:
    assert set(workflow.allowed_actions(RequestStatus.submitted)) == {
        A.accept, A.add_info, A.contact, A.return_, A.transfer, A.merge, A.reject,
        A.escalate, A.withdraw, A.note,
    }  # fmt: skip
    assert set(workflow.allowed_actions(RequestStatus.closed)) == {A.reopen, A.note}
    assert set(workflow.allowed_actions(RequestStatus.withdrawn)) == {A.note}


async def test_rights_refusals_change_nothing(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        reporter = await session.get(Person, request.reporter_id)
        stranger = await f.person(session)
        other_grid = await f.person(session, role=Role.grid_staff, unit=org.grid2)
        volunteer = await f.person(session, role=Role.volunteer, unit=org.grid)
        refused = [
            (stranger, A.accept),
            (reporter, A.accept),
            (other_grid, A.accept),
            (volunteer, A.accept),
            (org.steward, A.accept),
            (org.staff, A.withdraw),
            (stranger, A.withdraw),
            (None, A.withdraw),
            (None, A.add_info),
            (stranger, A.add_info),
        ]
        before = (await _count(session, RequestEvent), await _count(session, OutboxMessage))
        for actor, action in refused:
            with pytest.raises(NotAllowed) as caught:
                await workflow.transition(
                    session, request=request, action=action, actor=actor, now=f.NOW, settings=config
                )
            assert caught.value.key == "workflow.error.no_right"
        assert request.status == RequestStatus.submitted and request.accepted_at is None
        after = (await _count(session, RequestEvent), await _count(session, OutboxMessage))
        assert after == before
        # The community admin holds the right over the grid's subtree; the system always may.
        await workflow.transition(
            session, request=request, action=A.accept, actor=org.admin, now=f.NOW, settings=config
        )
        assert request.assignee_id == org.admin.id and request.accepted_at == f.NOW
        await workflow.transition(
            session, request=request, action=A.start, actor=None, now=f.NOW, settings=config
        )


async def test_refusals_with_catalog_keys(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)

        async def key(action: str, **kwargs: Any) -> str:
            with pytest.raises((InvalidTransition, NotAllowed)) as caught:
                await workflow.transition(
                    session,
                    request=request,
                    action=action,
                    actor=org.staff,
                    now=f.NOW,
                    settings=config,
                    **kwargs,
                )
            return str(caught.value.key)

        assert await key("fly") == "workflow.error.unknown_action"
        assert await key("resolve") == "workflow.error.not_allowed_from"
        assert await key("reject", reason="  ") == "workflow.error.reason_required"
        assert await key("transfer") == "workflow.error.target_required"
        assert await key("transfer", target_unit_id=org.grid.id) == "workflow.error.same_unit"
        assert await key("merge", merge_into=request) == "workflow.error.merge_target"
        root = await f.request(session, org=org)
        root.owner_unit_id = org.district.id
        await session.flush()
        with pytest.raises(InvalidTransition) as caught:
            await workflow.transition(
                session, request=root, action="escalate", actor=None, now=f.NOW, settings=config
            )
        assert caught.value.key == "workflow.error.top_of_ladder"
        assert request.status == RequestStatus.submitted


async def test_submit_dispatches_a_card_to_the_grid(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        en_staff = await f.person(
            session,
            role=Role.grid_staff,
            unit=org.grid,
            language="en",
            channels=("telegram", "web"),
        )
        gone = await f.person(session, role=Role.grid_staff, unit=org.grid)
        gone.deleted_at = f.NOW
        blocked = await f.person(session, role=Role.grid_staff, unit=org.grid)
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.person_id == blocked.id)
            )
        ).scalar_one()
        identity.unreachable_at = f.NOW
        request = await f.request(session, org=org)
        assert request.reference.startswith("JM-2026-")
        assert request.owner_unit_id == org.grid.id and request.status == RequestStatus.submitted
        assert request.accept_by == f.NOW + 2 * H and request.resolve_by == f.NOW + 168 * H
        kinds = (
            await session.execute(
                select(RequestEvent.kind, RequestEvent.visibility)
                .where(RequestEvent.request_id == request.id)
                .order_by(RequestEvent.id)
            )
        ).all()
        assert kinds == [("submitted", Visibility.public), ("routed", Visibility.internal)]
        rows = await _outbox(session, request)
        # Grid staff only (not the community admin, not the reporter, not the deleted or blocked).
        assert {r.person_id for r in rows} == {org.staff.id, en_staff.id}
        assert len([r for r in rows if r.person_id == en_staff.id]) == 2  # two channels
        zh = next(r for r in rows if r.person_id == org.staff.id).payload
        en = next(r for r in rows if r.person_id == en_staff.id).payload
        assert "签收" in zh["text"] and "New request" in en["text"]
        for payload in (zh, en):
            assert request.reference in payload["text"]
            assert [b[1] for b in payload["buttons"][0]] == [
                cases_actions.ACCEPT.data(request.id),
                cases_actions.RETURN.data(request.id),
                cases_actions.TRANSFER.data(request.id),
            ]
        assert config.requests.reference_prefix == "JM"


async def test_steward_request_informs_grid_and_departments(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        liaison = await f.person(session, role=Role.department_liaison, unit=org.department)
        lamp = await f.category(session, maintenance=True, department_codes=["dept-water"])
        request = await intake.submit(
            session,
            reporter=None,
            category=lamp,
            description="rain pipe broken",
            photos=[("file-1", 1000, "photo"), ("voice-1", None, "voice")],
            channel="telegram",
            building_id=org.building_b1.id,
            priority=Priority.emergency,
            urgent_reason="water in the stairwell",
            suggested_category="general",
            now=f.NOW,
            settings=config,
        )
        assert request.owner_unit_id == org.workstation.id
        assert request.compound_id == org.compound_b.id
        assert request.resolve_by == f.NOW + 2 * H
        steward = await _to(session, request, org.steward)
        grid = await _to(session, request, org.staff)
        dept = await _to(session, request, liaison)
        assert steward[0].payload["buttons"] and steward[0].urgent
        assert not grid[0].payload.get("buttons") and not dept[0].payload.get("buttons")
        assert "water in the stairwell" in steward[0].payload["text"]
        assert await _count(session, RequestPhoto, request_id=request.id) == 2
        assert await _count(session, CategoryCorrection, request_id=request.id) == 1


async def test_public_changes_reach_reporter_and_followers_in_their_language(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        reporter = await f.person(session, language="en")
        request = await f.request(session, org=org, reporter=reporter)
        fan = await f.person(session, language="zh")
        assert await workflow.follow(session, request=request, person=fan, now=f.NOW)
        assert not await workflow.follow(session, request=request, person=fan)
        assert not await workflow.follow(session, request=request, person=reporter)
        await workflow.transition(
            session, request=request, action="accept", actor=org.staff, now=f.NOW, settings=config
        )
        await workflow.transition(
            session,
            request=request,
            action="note",
            actor=org.staff,
            now=f.NOW,
            note="internal only",
            visibility=Visibility.internal,
            settings=config,
        )
        await workflow.transition(
            session, request=request, action="contact", actor=org.staff, now=f.NOW, settings=config
        )
        assert request.contacted_at == f.NOW
        to_reporter = await _to(session, request, reporter)
        to_fan = await _to(session, request, fan)
        assert (
            len(to_reporter) == len(to_fan) == 1
        )  # accepted only; internal note and contact silent
        assert to_reporter[0].payload["text"].startswith(f"Request {request.reference} has been")
        assert (
            "已受理" in to_fan[0].payload["text"] and request.reference in to_fan[0].payload["text"]
        )
        # The actor hears nothing of their own actions: staff only has the dispatch card.
        assert len(await _to(session, request, org.staff)) == 1
        await workflow.transition(
            session, request=request, action="resolve", actor=org.staff, now=f.NOW, settings=config
        )
        resolved = (await _to(session, request, reporter))[-1].payload
        assert resolved["buttons"][0][0][1] == cases_actions.RATE.data(request.id)
        # Every push about this request names it.
        assert all(request.reference in r.payload["text"] for r in await _outbox(session, request))


async def test_transfer_escalate_return_move_the_owner_and_push_cards(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        other_staff = await f.person(session, role=Role.grid_staff, unit=org.grid2)
        request = await f.request(session, org=org)
        await workflow.transition(
            session, request=request, action="accept", actor=org.staff, now=f.NOW, settings=config
        )
        later = f.NOW + 5 * H
        await workflow.transition(
            session,
            request=request,
            action="transfer",
            actor=org.staff,
            now=later,
            target_unit_id=org.grid2.id,
            note="building 2 is ours",
            settings=config,
        )
        assert (request.owner_unit_id, request.status) == (org.grid2.id, RequestStatus.transferred)
        assert request.accepted_at is None and request.assignee_id is None
        assert request.accept_by == later + 2 * H
        card = (await _to(session, request, other_staff))[-1].payload
        assert "转办" in card["text"] and "building 2 is ours" in card["text"]
        await workflow.transition(
            session,
            request=request,
            action="return",
            actor=other_staff,
            now=later,
            reason="wrong place",
            settings=config,
        )
        assert (request.owner_unit_id, request.status) == (org.community.id, RequestStatus.returned)
        admin_card = (await _to(session, request, org.admin))[-1].payload
        assert admin_card["text"].startswith(f"[Returned {request.reference}]")
        assert "wrong place" in admin_card["text"]
        await workflow.transition(
            session, request=request, action="escalate", actor=org.admin, now=later, settings=config
        )
        assert (request.owner_unit_id, request.status) == (org.street.id, RequestStatus.escalated)
        # Former owners lose the right to act; the new owner's staff gains it.
        with pytest.raises(NotAllowed):
            await workflow.transition(
                session,
                request=request,
                action="accept",
                actor=org.admin,
                now=later,
                settings=config,
            )


async def test_merge_moves_reporter_and_followers(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        main = await f.request(session, org=org)
        duplicate = await f.request(session, org=org)
        fan = await f.person(session)
        await workflow.follow(session, request=duplicate, person=fan)
        await workflow.transition(
            session,
            request=duplicate,
            action="merge",
            actor=org.staff,
            now=f.NOW,
            merge_into=main,
            settings=config,
        )
        assert (duplicate.status, duplicate.merged_into_id) == (RequestStatus.merged, main.id)
        assert duplicate.closed_at == f.NOW
        follows = select(RequestFollower.person_id).where(RequestFollower.request_id == main.id)
        assert set((await session.execute(follows)).scalars()) == {duplicate.reporter_id, fan.id}
        reporter = await session.get(Person, duplicate.reporter_id)
        assert reporter is not None
        text = (await _to(session, duplicate, reporter))[-1].payload["text"]
        assert duplicate.reference in text and main.reference in text
        with pytest.raises(InvalidTransition):
            await workflow.follow(session, request=duplicate, person=fan)


async def test_evaluation_closes_or_reopens(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        happy = await f.request(session, org=org)
        sad = await f.request(session, org=org)
        for request in (happy, sad):
            for action in ("accept", "start", "resolve"):
                await workflow.transition(
                    session,
                    request=request,
                    action=action,
                    actor=org.staff,
                    now=f.NOW,
                    settings=config,
                )
        happy_reporter = await session.get(Person, happy.reporter_id)
        sad_reporter = await session.get(Person, sad.reporter_id)
        assert happy_reporter is not None and sad_reporter is not None
        with pytest.raises(NotAllowed):
            await workflow.evaluate(
                session, request=happy, person=sad_reporter, solved="solved",
                satisfaction="satisfied", now=f.NOW, settings=config,
            )  # fmt: skip
        evaluation = await workflow.evaluate(
            session, request=happy, person=happy_reporter, solved="solved",
            satisfaction="satisfied", comment="thanks", now=f.NOW + H, settings=config,
        )  # fmt: skip
        assert (
            evaluation.round == 1
            and happy.status == RequestStatus.closed
            and happy.closed_at == f.NOW + H
        )
        with pytest.raises(InvalidTransition):
            await workflow.evaluate(
                session, request=happy, person=happy_reporter, solved="solved",
                satisfaction="satisfied", now=f.NOW, settings=config,
            )  # fmt: skip
        later = f.NOW + 10 * H
        await workflow.evaluate(
            session, request=sad, person=sad_reporter, solved="not_solved",
            satisfaction="unsatisfied", comment="still dark", now=later, settings=config,
        )  # fmt: skip
        assert sad.status == RequestStatus.reopened and sad.resolved_at is None
        assert sad.resolve_by == later + 168 * H and sad.accept_by == later + 2 * H
        card = (await _to(session, sad, org.staff))[-1].payload
        assert "重新办理" in card["text"] and "still dark" in card["text"] and card["buttons"]
        assert await _count(session, Evaluation, request_id=sad.id) == 1
        with pytest.raises(ValueError):
            await workflow.evaluate(
                session, request=sad, person=sad_reporter, solved="maybe",
                satisfaction="none", now=later, settings=config,
            )  # fmt: skip


async def test_sweeps_escalate_overdue_and_close_unrated(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        late = await f.request(session, org=org)
        waiting = await f.request(session, org=org)
        for action in ("accept", "ask_info"):
            await workflow.transition(
                session, request=waiting, action=action, actor=org.staff, now=f.NOW, settings=config
            )
        on_time = await f.request(session, org=org, now=f.NOW + 2 * H)
        now = f.NOW + 3 * H
        events = await escalation.escalate_overdue(session, now=now, settings=config)
        assert [e.request_id for e in events] == [late.id]
        assert (late.status, late.owner_unit_id) == (RequestStatus.escalated, org.community.id)
        assert late.accept_by == now + 2 * H
        assert await escalation.escalate_overdue(session, now=now, settings=config) == []
        assert (
            waiting.status == RequestStatus.waiting_for_resident
            and on_time.status == RequestStatus.submitted
        )
        assert (await _to(session, late, org.admin))[-1].payload["buttons"]
        for action in ("accept", "resolve"):
            await workflow.transition(
                session, request=on_time, action=action, actor=org.staff, now=now, settings=config
            )
        # The community misses its window too: it climbs to the street.
        await escalation.escalate_overdue(session, now=now + 3 * H, settings=config)
        assert late.owner_unit_id == org.street.id
        due = now + timedelta(days=config.requests.evaluation_days)
        assert await escalation.close_unrated(session, now=due - H, settings=config) == []
        closed = await escalation.close_unrated(session, now=due, settings=config)
        assert [e.request_id for e in closed] == [
            on_time.id
        ] and on_time.status == RequestStatus.closed


async def test_notify_unit_is_exact_and_person_skips_deleted(db: TestDB) -> None:
    async with db.sessions() as session:
        org = await f.org(session)

        def render(locale: str) -> Outgoing:
            return Outgoing(text=locale)

        rows = await notify.notify_unit(
            session, unit_id=org.community.id, roles=[Role.admin, Role.grid_staff], render=render
        )
        assert [(r.person_id, r.payload["text"]) for r in rows] == [(org.admin.id, "en")]
        org.admin.deleted_at = f.NOW
        assert await notify.notify_person(session, person_id=org.admin.id, render=render) == []
        rows = await notify.notify_person(
            session, person_id=org.staff.id, render=render, urgent=True, settings=f.settings()
        )
        assert rows[0].urgent and rows[0].status == "pending"
        assert rows[0].payload == {"text": "zh", "kind": "notice"}  # no request: a notice
