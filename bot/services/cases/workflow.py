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
from bot.services.cases import announce, references, transitions
from bot.services.dispatch import routing, sla
from models import (
    Category,
    CategoryCorrection,
    Evaluation,
    EventKind,
    OrgUnit,
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

# A photo or voice note: (channel file id, size in bytes or None, "photo" | "voice").
PhotoInput = tuple[str, int | None, str]
TITLE_LENGTH = 80


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
    """Perform one action on a request, or refuse it (InvalidTransition, NotAllowed) unchanged.

    `locked`: the caller loaded the request FOR UPDATE in this transaction (a sweep's claim).
    """
    try:
        action = Action(action)
    except ValueError:
        raise InvalidTransition("workflow.error.unknown_action", action=str(action)) from None
    if not locked and session.get_bind().dialect.name != "sqlite":
        # Two staff pressing Accept at once: the second waits here, then sees "accepted".
        await session.refresh(request, with_for_update=True)
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
    text = "\n".join(part for part in (reason.strip(), note.strip()) if part)
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


async def submit(
    session: AsyncSession,
    *,
    reporter: Person | None,
    category: Category,
    description: str,
    photos: Sequence[PhotoInput] = (),
    channel: str = "",
    building_id: int | None = None,
    compound_id: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
    address_text: str = "",
    place_scope: str = "",
    priority: Priority = Priority.ordinary,
    urgent_reason: str = "",
    suggested_category: str | None = None,
    now: datetime,
    settings: Settings,
) -> Request:
    """Create a request: route it, number it, set its deadlines and dispatch it to its owner."""
    decision = await routing.route_request(
        session,
        category=category,
        building_id=building_id,
        compound_id=compound_id,
        lat=lat,
        lon=lon,
        settings=settings,
    )
    reference = await references.next_reference(
        session, prefix=settings.requests.reference_prefix, year=now.astimezone(settings.tz).year
    )
    text = description.strip()[: settings.requests.max_description_length]
    request = Request(
        reference=reference,
        category_id=category.id,
        title=(text.splitlines() or [""])[0][:TITLE_LENGTH],
        description=text,
        lat=lat,
        lon=lon,
        address_text=address_text,
        place_scope=place_scope,
        compound_id=compound_id if compound_id is not None else decision.compound_id,
        building_id=building_id,
        owner_unit_id=decision.owner_unit_id,
        status=RequestStatus.submitted,
        priority=priority,
        urgent_reason=urgent_reason,
        reporter_id=reporter.id if reporter is not None else None,
        created_at=now,
        updated_at=now,
    )
    sla.apply(
        request, sla.compute(category=category, priority=priority, now=now, settings=settings)
    )
    session.add(request)
    await session.flush()
    attach_photos(session, request=request, photos=photos, channel=channel, by=request.reporter_id)
    if suggested_category and suggested_category != category.slug:
        # The resident overrode the classifier: keep it, the classifier learns from these.
        session.add(
            CategoryCorrection(
                request_id=request.id,
                text=text,
                suggested=suggested_category,
                corrected=category.slug,
                by_id=request.reporter_id,
                created_at=now,
            )
        )
    actor_id = request.reporter_id
    session.add_all(
        [
            RequestEvent(
                request_id=request.id,
                at=now,
                actor_id=actor_id,
                kind=EventKind.submitted,
                from_status=None,
                to_status=RequestStatus.submitted.value,
                unit_id=decision.owner_unit_id,
            ),
            RequestEvent(
                request_id=request.id,
                at=now,
                actor_id=None,
                kind=EventKind.routed,
                detail={"rule": decision.rule, "steps": list(decision.steps)},
                visibility=Visibility.internal,
                to_status=RequestStatus.submitted.value,
                from_status=RequestStatus.submitted.value,
                unit_id=decision.owner_unit_id,
            ),
        ]
    )
    await session.flush()
    exclude = {actor_id} if actor_id is not None else set()
    await announce.owner_card(
        session, request=request, heading="submitted", exclude=exclude, settings=settings
    )
    if decision.rule == "no_property_workstation" and decision.grid_id is not None:
        await announce.informed(
            session,
            request=request,
            unit_id=decision.grid_id,
            roles=(Role.grid_staff,),
            settings=settings,
        )
    for department_id in decision.department_ids:
        await announce.informed(
            session,
            request=request,
            unit_id=department_id,
            roles=(Role.department_liaison,),
            settings=settings,
        )
    return request


def attach_photos(
    session: AsyncSession,
    *,
    request: Request,
    photos: Sequence[PhotoInput],
    channel: str,
    by: int | None,
    now: datetime | None = None,
) -> None:
    """Keep the channel file ids of photos and voice notes added to a request."""
    session.add_all(
        RequestPhoto(
            request_id=request.id,
            channel=channel,
            file_id=file_id,
            file_size=size,
            kind=kind,
            added_by_id=by,
            **({"created_at": now} if now is not None else {}),
        )
        for file_id, size, kind in photos
    )


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
