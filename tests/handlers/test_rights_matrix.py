"""Every command and button of volunteers and admins, tried by every role in and out of scope:
only the allowed ones get through, and a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.testing import TestChat
from bot.config import Settings
from bot.services.cases import intake
from bot.services.comms import actions as comms_actions
from bot.services.comms import broadcast
from bot.services.volunteers import actions as volunteers_actions
from bot.services.volunteers import task_work, tasks
from models import (
    AuditLog,
    Broadcast,
    Building,
    Category,
    ChannelIdentity,
    Compound,
    Invite,
    OrgUnit,
    OutboxMessage,
    Person,
    Role,
    RoleGrant,
    ServiceRecord,
    TaskPush,
    VolunteerProfile,
    VolunteerTask,
)
from tests.conftest import Bot

PERSONAS: dict[str, tuple[Role, str] | None] = {
    "resident": None,
    "grid_staff": (Role.grid_staff, "heshun-1"),
    "volunteer": (Role.volunteer, "wrench-cscec8"),
    "steward": (Role.steward, "steward-1"),
    "liaison": (Role.department_liaison, "law-enforcement"),
    "admin": (Role.admin, "heshun"),
    "admin_elsewhere": (Role.admin, "dahua"),
    "district_admin": (Role.admin, "jimo"),
}
ADMINS = frozenset({"admin", "district_admin"})
STAFF = frozenset({"grid_staff", "admin", "district_admin"})
VOLUNTEER = frozenset({"volunteer"})


@dataclass
class World:
    bot: Bot
    settings: Settings
    people: dict[str, int]
    chats: dict[str, TestChat]


async def _persona(bot: Bot, name: str) -> tuple[int, TestChat]:
    user_id = f"rm-{name}"
    async with bot.db.sessions() as session, session.begin():
        person = Person(display_name=name, language="zh")
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(
                person_id=person.id, channel="test", external_id=user_id, chat_id=user_id
            )
        )
        spec = PERSONAS[name]
        if spec is None:  # the resident lives in building 17 of 海盛·新阳光地带
            building = (
                await session.execute(
                    select(Building)
                    .join(Compound)
                    .where(Compound.code == "haisheng-sunshine", Building.number == "17")
                )
            ).scalar_one()
            person.compound_id, person.building_id = building.compound_id, building.id
        else:
            role, code = spec
            unit = (await session.execute(select(OrgUnit).where(OrgUnit.code == code))).scalar_one()
            session.add(RoleGrant(person_id=person.id, role=role, unit_id=unit.id))
            if role == Role.volunteer:
                session.add(
                    VolunteerProfile(
                        person_id=person.id, team_id=unit.id, skills=["electrical"], is_leader=True
                    )
                )
        return person.id, bot.chat(user_id)


async def _snapshot(session: AsyncSession) -> tuple[Any, ...]:
    async def rows(query: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in (await session.execute(query)).all()]

    return (
        await rows(
            select(RoleGrant.person_id, RoleGrant.role, RoleGrant.unit_id).order_by(RoleGrant.id)
        ),
        await rows(select(func.count(Invite.id))),
        await rows(select(func.count(AuditLog.id))),
        await rows(select(Broadcast.id, Broadcast.status).order_by(Broadcast.id)),
        await rows(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.is_reply.is_(False))
            .group_by(OutboxMessage.status)
            .order_by(OutboxMessage.status)
        ),
        await rows(
            select(VolunteerTask.id, VolunteerTask.status, VolunteerTask.claimed_by_id).order_by(
                VolunteerTask.id
            )
        ),
        await rows(select(ServiceRecord.id, ServiceRecord.rating).order_by(ServiceRecord.id)),
        await rows(select(func.count(TaskPush.id))),
        await rows(select(VolunteerProfile.person_id, VolunteerProfile.skills)),
    )


Setup = Callable[[World, AsyncSession], Awaitable[str]]


async def _request_id(w: World, session: AsyncSession) -> int:
    resident = await session.get(Person, w.people["resident"])
    category = (
        await session.execute(select(Category).where(Category.slug == "lighting"))
    ).scalar_one()
    assert resident is not None
    request = await intake.submit(
        session,
        reporter=resident,
        category=category,
        description="楼道灯坏了",
        building_id=resident.building_id,
        compound_id=resident.compound_id,
        now=w.bot.clock(),
        settings=w.settings,
    )
    return request.id


async def _task(
    w: World, session: AsyncSession, *, claimed: bool = False, done: bool = False
) -> int:
    from models import Request

    request = await session.get(Request, await _request_id(w, session))
    assert request is not None
    task, _ = await tasks.create_from_request(
        session, request=request, actor=None, now=w.bot.clock(), settings=w.settings
    )
    volunteer = await session.get(Person, w.people["volunteer"])
    assert volunteer is not None
    if claimed or done:
        assert await tasks.claim(
            session, task_id=task.id, person=volunteer, now=w.bot.clock(), settings=w.settings
        )
    if done:
        await task_work.complete(
            session,
            task_id=task.id,
            person=volunteer,
            hours=1,
            now=w.bot.clock(),
            settings=w.settings,
        )
    return task.id


async def _new_person(session: AsyncSession, *, granted: bool) -> int:
    person = Person(display_name="target")
    session.add(person)
    await session.flush()
    if granted:
        grid = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        session.add(RoleGrant(person_id=person.id, role=Role.grid_staff, unit_id=grid.id))
        await session.flush()
    return person.id


async def _draft(w: World, session: AsyncSession, *, sent: bool = False) -> int:
    admin = await session.get(Person, w.people["admin"])
    assert admin is not None
    target = await broadcast.resolve_target(session, text="heshun-1")
    draft, _ = await broadcast.create_draft(
        session, actor=admin, target=target, text="通知", now=w.bot.clock()
    )
    if sent:
        await broadcast.send(
            session, broadcast_id=draft.id, actor=admin, now=w.bot.clock(), settings=w.settings
        )
    return draft.id


def _fixed(text: str) -> Setup:
    async def setup(_w: World, _s: AsyncSession) -> str:
        return text

    return setup


def _with(
    factory: Callable[[World, AsyncSession], Awaitable[int]], shape: Callable[[int], str]
) -> Setup:
    async def setup(w: World, session: AsyncSession) -> str:
        return shape(await factory(w, session))

    return setup


# (name, how to build the input, who may, whether an allowed try must change the database)
ACTIONS: list[tuple[str, Setup, frozenset[str], bool]] = [
    ("/stats", _fixed("/stats heshun"), ADMINS, True),
    ("/export", _fixed("/export heshun"), ADMINS, True),
    ("/invite", _fixed("/invite grid_staff heshun-1"), ADMINS, True),
    (
        "/grant",
        _with(
            lambda w, s: _new_person(s, granted=False), lambda p: f"/grant {p} grid_staff heshun-1"
        ),
        ADMINS,
        True,
    ),
    (
        "/revoke",
        _with(
            lambda w, s: _new_person(s, granted=True), lambda p: f"/revoke {p} grid_staff heshun-1"
        ),
        ADMINS,
        True,
    ),
    ("/broadcast", _fixed("/broadcast heshun-1"), ADMINS, False),
    ("/mytasks", _fixed("/mytasks"), VOLUNTEER, False),
    ("/myhours", _fixed("/myhours"), VOLUNTEER, False),
    ("/team", _fixed("/team"), VOLUNTEER, False),
    ("/skills", _fixed("/skills"), VOLUNTEER, False),
    ("vls", _fixed("btn:" + volunteers_actions.SKILL.data(0)), VOLUNTEER, False),
    ("vlatd", _fixed("btn:" + volunteers_actions.PROFILE_DONE.data()), VOLUNTEER, False),
    (
        "vlnew",
        _with(_request_id, lambda r: "btn:" + volunteers_actions.NEW_TASK.data(r)),
        STAFF,
        True,
    ),
    (
        "vlc",
        _with(lambda w, s: _task(w, s), lambda t: "btn:" + volunteers_actions.CLAIM.data(t)),
        VOLUNTEER,
        True,
    ),
    (
        "vlw",
        _with(
            lambda w, s: _task(w, s, claimed=True),
            lambda t: "btn:" + volunteers_actions.ON_MY_WAY.data(t),
        ),
        VOLUNTEER,
        True,
    ),
    (
        "vld",
        _with(
            lambda w, s: _task(w, s, claimed=True),
            lambda t: "btn:" + volunteers_actions.FINISH.data(t),
        ),
        VOLUNTEER,
        False,
    ),
    (
        "vldh",
        _with(
            lambda w, s: _task(w, s, claimed=True),
            lambda t: "btn:" + volunteers_actions.HOURS.data(t, 2),
        ),
        VOLUNTEER,  # outside the Done flow the claimant is only told the button is stale
        False,
    ),
    (
        "vlx",
        _with(
            lambda w, s: _task(w, s, claimed=True),
            lambda t: "btn:" + volunteers_actions.CANNOT.data(t),
        ),
        VOLUNTEER,
        False,
    ),
    (
        "vlo",
        _with(
            lambda w, s: _task(w, s, claimed=True),
            lambda t: "btn:" + volunteers_actions.OPEN_TASK.data(t),
        ),
        VOLUNTEER,
        False,
    ),
    (
        "vlr",
        _with(
            lambda w, s: _task(w, s, done=True),
            lambda t: "btn:" + volunteers_actions.RATE.data(t, 5),
        ),
        frozenset({"resident"}),
        True,
    ),
    (
        "amsend",
        _with(lambda w, s: _draft(w, s), lambda b: "btn:" + comms_actions.SEND.data(b)),
        ADMINS,
        True,
    ),
    (
        "amstop",
        _with(lambda w, s: _draft(w, s), lambda b: "btn:" + comms_actions.STOP.data(b)),
        ADMINS,
        True,
    ),
    (
        "amprog",
        _with(
            lambda w, s: _draft(w, s, sent=True), lambda b: "btn:" + comms_actions.PROGRESS.data(b)
        ),
        ADMINS,
        False,
    ),
]


async def test_rights_matrix(bot: Bot, settings: Settings, tmp_path: Any) -> None:
    settings.stats.export_dir = tmp_path
    people: dict[str, int] = {}
    chats: dict[str, TestChat] = {}
    for name in PERSONAS:
        people[name], chats[name] = await _persona(bot, name)
    world = World(bot, settings, people, chats)
    wrong: list[str] = []
    for action, setup, allowed, mutates in ACTIONS:
        for name, chat in chats.items():
            async with bot.db.sessions() as session, session.begin():
                given = await setup(world, session)
            async with bot.db.sessions() as session:
                before = await _snapshot(session)
            if given.startswith("btn:"):
                await chat.press_data(given[4:])
            else:
                await chat.send(given)
            async with bot.db.sessions() as session:
                after = await _snapshot(session)
            assert chat.last_result is not None
            refused = chat.last_result.status == "refused"
            changed = before != after
            if name in allowed:
                if refused or (mutates and not changed):
                    wrong.append(f"{action} by {name}: refused={refused} changed={changed}")
            elif not refused or changed:
                wrong.append(
                    f"{action} by {name} got through: changed={changed} {chat.last_text!r}"
                )
            await chat.send("/cancel")
    assert wrong == [], "\n".join(wrong)
