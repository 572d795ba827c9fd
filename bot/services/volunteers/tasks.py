"""Red-wrench volunteer tasks: created from a request, pushed, claimed, done, rated.

```mermaid
stateDiagram-v2
    [*] --> open: staff create a task (push to paired teams whose skills match)
    open --> claimed: first Claim wins (conditional UPDATE ... WHERE status='open')
    open --> open: unclaimed: widen to other paired teams, then tell the owner unit
    claimed --> on_way: On my way
    claimed --> open: Cannot do (reason; pushed again)
    on_way --> open: Cannot do (reason; pushed again)
    claimed --> done: Done (photos, hours): owner verifies, resident rates
    on_way --> done
```

The claim is one conditional UPDATE: on PostgreSQL a second claimer blocks on the row lock and,
once the first commits, re-checks `status = 'open'`, finds it false and updates nothing; so
two presses in the same millisecond give exactly one winner. Losers' push messages are edited
to "taken" (or, if not sent yet, cancelled in the outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed, NotFound, UserFacingError
from bot.i18n import pick_locale, t
from bot.messages import Button, Outgoing
from bot.outbox.store import enqueue
from bot.services.cases import announce, cards
from bot.services.comms import notify
from bot.services.dispatch import routing
from bot.services.org import scope
from bot.services.volunteers import actions, roster
from models import (
    ACTIVE_TASK_STATUSES,
    OPEN_STATUSES,
    EventKind,
    OutboxMessage,
    OutboxStatus,
    Person,
    Request,
    RequestEvent,
    Role,
    RoleGrant,
    TaskPush,
    TaskStatus,
    TeamPairing,
    Visibility,
    VolunteerProfile,
    VolunteerTask,
)

MAX_ID = 2**31


def task_buttons(task: VolunteerTask, locale: str) -> list[list[Button]]:
    """The claimed task's actions: On my way / Done / Cannot do."""
    row = []
    if task.status == TaskStatus.claimed:
        row.append(actions.ON_MY_WAY.button(t(locale, "volunteer.button.on_way"), task.id))
    row.append(actions.FINISH.button(t(locale, "volunteer.button.done"), task.id))
    row.append(actions.CANNOT.button(t(locale, "volunteer.button.cannot"), task.id))
    return [row]


async def _describe(
    session: AsyncSession, *, task: VolunteerTask, settings: Settings
) -> dict[str, Any]:
    """What a push shows, per locale: reference, category, place (strings or callables)."""
    request = await session.get(Request, task.request_id) if task.request_id else None
    if request is None:
        return {"reference": "-", "category": lambda _loc: "-", "place": lambda _loc: "-"}
    ctx = await announce.card_context(session, request=request, settings=settings)
    return {
        "reference": request.reference,
        "category": ctx.category.name,
        "place": lambda loc: cards.place_text(ctx, loc),
    }


def _push_message(task: VolunteerTask, info: dict[str, Any], locale: str) -> Outgoing:
    skill = t(locale, f"volunteer.skill.{task.skill}") if task.skill in roster.SKILLS else "-"
    text = t(
        locale,
        "volunteer.push",
        reference=info["reference"],
        category=info["category"](locale),
        place=info["place"](locale),
        skill=skill,
        description=task.description,
    )
    claim = actions.CLAIM.button(t(locale, "volunteer.button.claim"), task.id)
    return Outgoing(text=text, buttons=[[claim]])


async def _teams(session: AsyncSession, *, task: VolunteerTask, stage: int) -> list[int]:
    """Stage 0: the teams paired with the task's community; stage 1: every other paired team."""
    paired = set(
        (
            await session.execute(
                select(TeamPairing.team_id).where(TeamPairing.community_id == task.community_id)
            )
        ).scalars()
    )
    if stage == 0:
        return sorted(paired)
    every = set((await session.execute(select(TeamPairing.team_id).distinct())).scalars())
    return sorted(every - paired)


async def eligible(
    session: AsyncSession,
    *,
    task: VolunteerTask,
    team_ids: Sequence[int],
    now: datetime,
    settings: Settings,
    exclude: Sequence[int] = (),
) -> list[int]:
    """Volunteers (still granted) of these teams whose skills match and who are available now."""
    if not team_ids:
        return []
    query = (
        select(VolunteerProfile)
        .join(Person, (Person.id == VolunteerProfile.person_id) & Person.deleted_at.is_(None))
        .join(
            RoleGrant,
            (RoleGrant.person_id == VolunteerProfile.person_id)
            & (RoleGrant.role == Role.volunteer)
            & (RoleGrant.unit_id == VolunteerProfile.team_id),
        )
        .where(VolunteerProfile.team_id.in_(list(team_ids)))
        .order_by(VolunteerProfile.person_id)
    )
    skipped = set(exclude)
    people = []
    for profile in (await session.execute(query)).scalars():
        if profile.person_id in skipped:
            continue
        if task.skill and task.skill not in (profile.skills or []):
            continue
        if roster.available(profile.availability, at=now, settings=settings):
            people.append(profile.person_id)
    return people


async def pushed_people(session: AsyncSession, *, task_id: int) -> set[int]:
    """Everyone the task was pushed to so far."""
    query = select(TaskPush.person_id).where(TaskPush.task_id == task_id)
    return set((await session.execute(query)).scalars())


async def push(
    session: AsyncSession,
    *,
    task: VolunteerTask,
    now: datetime,
    settings: Settings,
    exclude: Sequence[int] = (),
) -> int:
    """Push the task to the eligible volunteers of its stage's teams; returns how many."""
    team_ids = await _teams(session, task=task, stage=task.stage)
    people = await eligible(
        session, task=task, team_ids=team_ids, now=now, settings=settings, exclude=exclude
    )
    info = await _describe(session, task=task, settings=settings)
    for person_id in people:
        rows = await notify.notify_person(
            session,
            kind="task",
            person_id=person_id,
            render=lambda loc: _push_message(task, info, loc),
            request_id=task.request_id,
            settings=settings,
        )
        session.add_all(
            TaskPush(task_id=task.id, person_id=person_id, outbox_id=row.id, stage=task.stage)
            for row in rows
        )
    task.pushed_at = now
    await session.flush()
    return len(people)


def add_event(session: AsyncSession, request: Request | None, **values: Any) -> None:
    """A line in the request's history (the status does not change)."""
    if request is None:
        return
    session.add(
        RequestEvent(
            request_id=request.id,
            from_status=request.status.value,
            to_status=request.status.value,
            unit_id=request.owner_unit_id,
            **values,
        )
    )


async def create_from_request(
    session: AsyncSession,
    *,
    request: Request,
    actor: Person | None,
    description: str = "",
    now: datetime,
    settings: Settings,
) -> tuple[VolunteerTask, int]:
    """Staff of the owner unit ask volunteers for help; returns the task and how many got it."""
    if actor is not None and not await scope.holds_role(
        session, person_id=actor.id, roles=scope.STAFF_ROLES, unit_id=request.owner_unit_id
    ):
        raise NotAllowed("volunteer.error.not_staff")
    if request.status not in OPEN_STATUSES:
        raise InvalidTransition("volunteer.error.request_closed", reference=request.reference)
    active = await session.execute(
        select(VolunteerTask.id).where(
            VolunteerTask.request_id == request.id, VolunteerTask.status.in_(ACTIVE_TASK_STATUSES)
        )
    )
    if active.first() is not None:
        raise UserFacingError("volunteer.error.task_exists", reference=request.reference)
    announce_ctx = await announce.card_context(session, request=request, settings=settings)
    decision = await routing.route_request(
        session,
        category=announce_ctx.category,
        building_id=request.building_id,
        compound_id=request.compound_id,
        lat=request.lat,
        lon=request.lon,
        settings=settings,
    )
    task = VolunteerTask(
        request_id=request.id,
        skill=decision.volunteer_skill,
        community_id=decision.community_id,
        status=TaskStatus.open,
        description=(description.strip() or request.description)[:2000],
        owner_unit_id=request.owner_unit_id,
        created_by_id=actor.id if actor else None,
        stage=0,
        photos=[],
        note="",
        created_at=now,
    )
    session.add(task)
    await session.flush()
    add_event(
        session,
        request,
        at=now,
        actor_id=actor.id if actor else None,
        kind=EventKind.volunteer_task,
        note=task.description,
        visibility=Visibility.internal,
    )
    pushed = await push(session, task=task, now=now, settings=settings)
    return task, pushed


async def get_task(session: AsyncSession, *, task_id: int) -> VolunteerTask:
    """A task by id, or NotFound."""
    # Ids from button data are untrusted; beyond a 32-bit key PostgreSQL would reject the query.
    task = await session.get(VolunteerTask, task_id) if 0 < task_id < MAX_ID else None
    if task is None:
        raise NotFound("volunteer.error.task_not_found")
    return task


async def claim(
    session: AsyncSession, *, task_id: int, person: Person, now: datetime, settings: Settings
) -> bool:
    """Take a task pushed to you; True for the one winner, False when it was already taken."""
    task = await get_task(session, task_id=task_id)
    await roster.require_volunteer(session, person=person)
    if person.id not in await pushed_people(session, task_id=task.id):
        raise NotAllowed("volunteer.error.not_pushed")
    won = await session.execute(
        update(VolunteerTask)
        .where(VolunteerTask.id == task.id, VolunteerTask.status == TaskStatus.open)
        .values(status=TaskStatus.claimed, claimed_by_id=person.id, claimed_at=now)
        .returning(VolunteerTask.id)
        .execution_options(synchronize_session=False)
    )
    if won.scalar_one_or_none() is None:
        return False
    await session.refresh(task)
    request = await session.get(Request, task.request_id) if task.request_id else None
    add_event(
        session,
        request,
        at=now,
        actor_id=person.id,
        kind=EventKind.volunteer_claimed,
        visibility=Visibility.internal,
    )
    await _mark_taken(session, task=task, winner=person.id, settings=settings)
    return True


async def _mark_taken(
    session: AsyncSession, *, task: VolunteerTask, winner: int, settings: Settings
) -> None:
    """Edit everyone else's push to "taken"; a push not sent yet is cancelled instead."""
    query = (
        select(OutboxMessage, Person.language)
        .join(TaskPush, TaskPush.outbox_id == OutboxMessage.id)
        .join(Person, Person.id == TaskPush.person_id)
        .where(TaskPush.task_id == task.id, TaskPush.person_id != winner)
    )
    unsent: list[int] = []
    for row, language in (await session.execute(query)).all():
        if row.external_message_id:
            locale = pick_locale(language, None, settings.locale.default)
            message = Outgoing(
                text=t(locale, "volunteer.taken"),
                edit_message_id=row.external_message_id,
                kind="task",
            )
            await enqueue(
                session,
                channel=row.channel,
                chat_id=row.chat_id,
                message=message,
                person_id=row.person_id,
                request_id=row.request_id,
                flush=False,
            )
        elif row.status == OutboxStatus.pending:
            unsent.append(row.id)
    if unsent:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(unsent), OutboxMessage.status == OutboxStatus.pending)
            .values(status=OutboxStatus.cancelled)
            .execution_options(synchronize_session=False)
        )
    await session.flush()


async def request_of(session: AsyncSession, task: VolunteerTask) -> Request | None:
    return await session.get(Request, task.request_id) if task.request_id else None


def notice(
    key: str, locale: str, *, rows: list[list[Button]] | None = None, **params: Any
) -> Outgoing:
    return Outgoing(text=t(locale, key, **params), buttons=rows or [])


async def reference_of(session: AsyncSession, *, task: VolunteerTask) -> str:
    """The reference of the task's request, or "-"."""
    request = await request_of(session, task)
    return request.reference if request else "-"
