"""The request state machine: every change of a request goes through `transition`.

The table `RULES` says, for each action, the statuses it may start from, the status it leads
to and who may do it; `workflow.mmd` draws it. A refused action raises InvalidTransition or
NotAllowed before anything is written. A change writes its RequestEvent, updates the request's
status, timestamps and deadlines, and writes the outbox rows for whoever must hear of it, all
in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed
from bot.services.cases import announce, card_copies, transitions
from bot.services.cases.intake import PhotoInput, attach_photos
from bot.services.dispatch import sla
from models import (
    Category,
    Evaluation,
    OrgUnit,
    Person,
    Request,
    RequestEvent,
    RequestFollower,
    RequestStatus,
    Visibility,
)

# The table lives in transitions.py; these names are part of workflow's interface too.
Action = transitions.Action
RULES = transitions.RULES
allowed_actions = transitions.allowed_actions
may = transitions.may
OPEN = transitions.OPEN
WORKING = transitions.WORKING
TERMINAL = transitions.TERMINAL
CARD_ACTIONS = transitions.CARD_ACTIONS
STAFF_NOTICE_ACTIONS = transitions.STAFF_NOTICE_ACTIONS
SOLVED_VALUES = transitions.SOLVED_VALUES
SATISFACTION_VALUES = transitions.SATISFACTION_VALUES


async def _wait_started(session: AsyncSession, request: Request) -> RequestStatus:
    """The status the request had before its current wait for the resident."""
    query = (
        select(RequestEvent.from_status)
        .where(
            RequestEvent.request_id == request.id,
            RequestEvent.to_status == RequestStatus.waiting_for_resident.value,
        )
        .order_by(RequestEvent.at.desc(), RequestEvent.id.desc())
        .limit(1)
    )
    before = (await session.execute(query)).scalar_one_or_none()
    return RequestStatus(before) if before in WORKING else RequestStatus.in_progress


async def _category(session: AsyncSession, request: Request) -> Category:
    category = await session.get(Category, request.category_id)
    assert category is not None  # a foreign key guarantees it
    return category


async def _move(session: AsyncSession, request: Request, *, onto: Request) -> None:
    """A merged request's reporter and followers follow the request it merged into."""
    people = set(await announce.followers(session, request_id=request.id))
    if request.reporter_id is not None:
        people.add(request.reporter_id)
    people -= set(await announce.followers(session, request_id=onto.id))
    people.discard(onto.reporter_id or -1)
    session.add_all(RequestFollower(request_id=onto.id, person_id=p) for p in sorted(people))


async def _apply(
    session: AsyncSession,
    *,
    request: Request,
    action: Action,
    actor: Person | None,
    now: datetime,
    new_owner: int | None,
    merge_into: Request | None,
    settings: Settings,
) -> RequestStatus:
    """Change the request's status, owner, timestamps and deadlines; returns the new status."""
    before = request.status
    target = RULES[action].target
    if action == Action.add_info and before == RequestStatus.waiting_for_resident:
        target = await _wait_started(session, request)
    if before == RequestStatus.waiting_for_resident and target not in (
        None,
        RequestStatus.waiting_for_resident,
    ):
        await sla.resume(session, request=request, now=now)
    if new_owner is not None:
        request.owner_unit_id = new_owner
        request.assignee_id = None
        sla.restart_accept(request, now=now, settings=settings)
        if action == Action.escalate:
            sla.extend_resolve(request, now=now, settings=settings)
    if action == Action.accept:
        request.accepted_at = now
        if actor is not None:
            request.assignee_id = actor.id
    elif action == Action.start and actor is not None and request.assignee_id is None:
        request.assignee_id = actor.id
    elif action == Action.resolve:
        request.resolved_at = now
    elif action == Action.reopen:
        category = await _category(session, request)
        sla.apply(
            request,
            sla.compute(category=category, priority=request.priority, now=now, settings=settings),
        )
        request.accepted_at = request.resolved_at = request.closed_at = None
        request.contacted_at = None
    elif action == Action.merge and merge_into is not None:
        request.merged_into_id = merge_into.id
        await _move(session, request, onto=merge_into)
    if target is not None:
        request.status = target
        if target in TERMINAL:
            request.closed_at = now
    return request.status


async def _announce(
    session: AsyncSession,
    *,
    request: Request,
    action: Action,
    actor: Person | None,
    event: RequestEvent,
    merge_into: Request | None,
    settings: Settings,
) -> None:
    """Outbox rows for the reporter and followers, and for the owner unit's staff."""
    exclude = {actor.id} if actor is not None else set()
    public = event.visibility == Visibility.public
    if public and (event.from_status != event.to_status or (action == Action.note and event.note)):
        key = "notify.note" if action == Action.note else f"notify.{request.status.value}"
        extra = {"other": merge_into.reference} if merge_into is not None else {}
        owner = None
        if key == "notify.accepted":  # who has it, and that a reply in the chat adds to it
            key, owner = "notify.accepted_by", await session.get(OrgUnit, request.owner_unit_id)
        await announce.residents(
            session,
            request=request,
            key=key,
            note=event.note,
            exclude=exclude,
            settings=settings,
            reporters_words=actor is not None and actor.id == request.reporter_id,
            owner=owner,
            **extra,
        )
    if action == Action.accept and actor is not None:
        await card_copies.mark_accepted(session, request=request, actor=actor, settings=settings)
    if action in CARD_ACTIONS:
        await announce.owner_card(
            session,
            request=request,
            heading=CARD_ACTIONS[action],
            note=event.note,
            exclude=exclude,
            settings=settings,
        )
    elif action in STAFF_NOTICE_ACTIONS:
        await announce.owner_notice(
            session,
            request=request,
            key=f"staff.{action.value}",
            note=event.note,
            exclude=exclude,
            settings=settings,
        )


async def _record(
    session: AsyncSession,
    *,
    request: Request,
    action: Action,
    actor: Person | None,
    before: RequestStatus,
    after: RequestStatus,
    text: str,
    visibility: Visibility,
    now: datetime,
) -> RequestEvent:
    """The change's event on the timeline; the first contact with the resident (a contact
    action or a public note) is the request's contact time."""
    public_note = action == Action.note and visibility == Visibility.public and bool(text)
    if request.contacted_at is None and (action in transitions.CONTACT_ACTIONS or public_note):
        request.contacted_at = now
    event = RequestEvent(
        request_id=request.id,
        at=now,
        actor_id=actor.id if actor is not None else None,
        kind=action.value,
        from_status=before.value,
        to_status=after.value,
        note=text,
        visibility=visibility,
        unit_id=request.owner_unit_id,
    )
    session.add(event)
    await session.flush()
    return event


def _action(value: Action | str) -> Action:
    try:
        return Action(value)
    except ValueError:
        raise InvalidTransition("workflow.error.unknown_action", action=str(value)) from None


async def _lock(session: AsyncSession, request: Request) -> None:
    """Two staff pressing Accept at once: the second waits here, then sees "accepted"."""
    if session.get_bind().dialect.name != "sqlite":
        await session.refresh(request, with_for_update=True)


async def transition(
    session: AsyncSession,
    *,
    request: Request,
    action: Action | str,
    actor: Person | None,
    now: datetime,
    note: str = "",
    visibility: Visibility = Visibility.public,
    target_unit_id: int | None = None,
    reason: str = "",
    merge_into: Request | None = None,
    settings: Settings,
    locked: bool = False,
) -> RequestEvent:
    """Perform one action on a request, or refuse it (InvalidTransition, NotAllowed) unchanged."""
    action = _action(action)
    if not locked:  # else the caller (a sweep's claim) loaded it FOR UPDATE already
        await _lock(session, request)
    new_owner = await transitions.check(
        session,
        request=request,
        action=action,
        actor=actor,
        target_unit_id=target_unit_id,
        reason=reason,
        merge_into=merge_into,
    )
    before = request.status
    after = await _apply(
        session,
        request=request,
        action=action,
        actor=actor,
        now=now,
        new_owner=new_owner,
        merge_into=merge_into,
        settings=settings,
    )
    event = await _record(
        session,
        request=request,
        action=action,
        actor=actor,
        before=before,
        after=after,
        text="\n".join(part for part in (reason.strip(), note.strip()) if part),
        visibility=visibility,
        now=now,
    )
    await _announce(
        session,
        request=request,
        action=action,
        actor=actor,
        event=event,
        merge_into=merge_into,
        settings=settings,
    )
    return event


async def add_information(
    session: AsyncSession,
    *,
    request: Request,
    person: Person,
    text: str = "",
    photos: Sequence[PhotoInput] = (),
    channel: str = "",
    now: datetime,
    settings: Settings,
) -> RequestEvent:
    """The reporter adds text and photos; a request waiting for them resumes its clocks."""
    event = await transition(
        session,
        request=request,
        action=Action.add_info,
        actor=person,
        now=now,
        note=text.strip()[: settings.requests.max_text_length],
        settings=settings,
    )
    attach_photos(session, request=request, photos=photos, channel=channel, by=person.id)
    await session.flush()
    return event


async def follow(
    session: AsyncSession, *, request: Request, person: Person, now: datetime | None = None
) -> bool:
    """Say "me too" on an open request; False when the person reported or follows it already."""
    if request.status not in OPEN:
        raise InvalidTransition("workflow.error.not_open", reference=request.reference)
    if request.reporter_id == person.id:
        return False
    if await session.get(RequestFollower, (request.id, person.id)) is not None:
        return False
    follower = RequestFollower(request_id=request.id, person_id=person.id)
    if now is not None:
        follower.created_at = now
    session.add(follower)
    await session.flush()
    return True


async def evaluate(
    session: AsyncSession,
    *,
    request: Request,
    person: Person,
    solved: str,
    satisfaction: str,
    comment: str = "",
    now: datetime,
    settings: Settings,
) -> Evaluation:
    """The reporter rates a resolved request: it closes, or reopens when not solved."""
    if solved not in SOLVED_VALUES or satisfaction not in SATISFACTION_VALUES:
        raise ValueError(f"unknown evaluation {solved!r}/{satisfaction!r}")
    if request.reporter_id != person.id:
        raise NotAllowed("workflow.error.no_right")
    if request.status != RequestStatus.resolved:
        raise InvalidTransition(
            "workflow.error.not_allowed_from", status=request.status.value, action="evaluate"
        )
    count = select(func.count()).where(Evaluation.request_id == request.id)
    rounds = int((await session.execute(count)).scalar_one())
    evaluation = Evaluation(
        request_id=request.id,
        person_id=person.id,
        round=rounds + 1,
        solved=solved,
        satisfaction=satisfaction,
        comment=comment,
        created_at=now,
    )
    session.add(evaluation)
    # The judgement first: a reopened request's card (with Accept) then comes last.
    await announce.rated(session, request=request, evaluation=evaluation, settings=settings)
    action = Action.reopen if solved == "not_solved" else Action.close
    await transition(
        session,
        request=request,
        action=action,
        actor=person,
        now=now,
        note=comment,
        settings=settings,
    )
    return evaluation
