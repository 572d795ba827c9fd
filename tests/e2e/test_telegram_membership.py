"""Who the bot is to a person, through a real framework and the fake Bot API: command menus that
follow role grants and revokes, people blocking and unblocking the bot (my_chat_member), and
commands addressed to another bot in a group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import command_list
from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.comms import notify
from bot.services.org import invites, rights
from models import (
    ChannelIdentity,
    OrgUnit,
    OutboxMessage,
    Person,
    ProcessedUpdate,
    Role,
    RoleGrant,
)
from tests import factories
from tests.conftest import Clock
from tests.e2e.conftest import (
    Rig,
    build_rig,
)
from tests.fakes.bot_api import FakeUser, texts

if TYPE_CHECKING:
    from tests.conftest import TestDB


async def _community_admin(session: AsyncSession) -> Person:
    """A (non-demo) admin of 和顺社区: a demo person's grants and invites reach demo people only."""
    community = await rights.get_unit_by_code(session, code="heshun")
    return await factories.person(session, role=Role.admin, unit=community)


async def _invite(rig: Rig, role: Role, unit_code: str) -> str:
    """An invite link payload made by an admin of 和顺社区."""
    async with rig.db.sessions() as session, session.begin():
        admin = await _community_admin(session)
        unit = await rights.get_unit_by_code(session, code=unit_code)
        _invite_row, token = await invites.create_invite(
            session,
            actor=admin,
            role=role,
            unit=unit,
            now=rig.clock(),
            settings=rig.engine.settings,
        )
    return invites.INVITE_PREFIX + token


async def _person_of(rig: Rig, user: FakeUser) -> int:
    async with rig.db.sessions() as session:
        query = select(ChannelIdentity.person_id).where(
            ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == user.chat_id
        )
        return int((await session.execute(query)).scalar_one())


async def _identity(rig: Rig, user: FakeUser) -> ChannelIdentity:
    async with rig.db.sessions() as session:
        query = select(ChannelIdentity).where(
            ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == user.chat_id
        )
        return (await session.execute(query)).scalar_one()


async def _count(rig: Rig, model: type, *where: Any) -> int:
    async with rig.db.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


def _names(roles: list[str], locale: str = "zh") -> list[str]:
    return [name for name, _ in command_list(roles, locale)]


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_menu_follows_grants_and_revokes(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, "polling", demo, settings, clock)
    await rig.start_polling()
    try:
        staff, admin = rig.user(), rig.user(language_code="en")
        await staff.send("/start " + await _invite(rig, Role.grid_staff, "heshun-1"))
        assert "网格员" in " ".join(staff.texts)
        # The menu travels as an outbox row written with the grant, delivered like any push.
        menu_rows = await _count(rig, OutboxMessage, OutboxMessage.chat_id == staff.chat_id)
        assert menu_rows == 2  # the welcome (a reply) and the menu
        assert rig.api.menu(staff.chat_id) is None
        await rig.sender.pump()
        assert rig.api.menu(staff.chat_id) == _names(["grid_staff"])
        assert "whistle" in rig.api.menu(staff.chat_id)  # type: ignore[operator]

        await admin.send("/start " + await _invite(rig, Role.admin, "heshun"))
        await rig.sender.pump()
        assert rig.api.menu(admin.chat_id) == _names(["admin"], "en")
        staff_id = await _person_of(rig, staff)
        await admin.send(f"/revoke {staff_id} grid_staff heshun-1")
        assert await _count(rig, RoleGrant, RoleGrant.person_id == staff_id) == 0
        await rig.sender.pump()
        assert rig.api.menu(staff.chat_id) is None  # back to the residents' default list
        deleted = rig.api.calls_of("deleteMyCommands")
        assert [c.params["scope"] for c in deleted] == [
            {"type": "chat", "chat_id": int(staff.chat_id)}
        ]
        await admin.send(f"/grant {staff_id} grid_staff heshun-1")
        await rig.sender.pump()
        assert rig.api.menu(staff.chat_id) == _names(["grid_staff"])
        assert await _count(rig, OutboxMessage, OutboxMessage.status != "sent") == 0
    finally:
        await rig.close()


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_menu_follows_language_and_erasure(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, "polling", demo, settings, clock)
    await rig.start_polling()
    try:
        staff = rig.user()
        await staff.send("/start " + await _invite(rig, Role.volunteer, "wrench-cscec8"))
        await rig.sender.pump()
        described = rig.api.commands[(f'{{"chat_id": {staff.chat_id}, "type": "chat"}}', "")]
        assert {"command": "mytasks", "description": "我的志愿任务"} in described
        await staff.send("/language")
        await staff.press("English")
        await rig.sender.pump()
        described = rig.api.commands[(f'{{"chat_id": {staff.chat_id}, "type": "chat"}}', "")]
        assert {"command": "mytasks", "description": "My volunteer tasks"} in described
        await staff.send("/privacy")
        await staff.press(t("en", "privacy.delete"))
        await staff.press(t("en", "privacy.confirm_yes"))
        await rig.sender.pump()
        assert rig.api.menu(staff.chat_id) is None  # erased: no role, no staff menu
    finally:
        await rig.close()


async def test_blocking_and_unblocking_the_bot(rig: Rig) -> None:
    user = rig.user()
    await user.send("/start")
    person_id = await _person_of(rig, user)
    assert "my_chat_member" in (rig.api.allowed_updates or [])
    await user.block_bot()
    assert not rig.api.dropped  # the update type was asked for
    identity = await _identity(rig, user)
    assert identity.unreachable_at is not None
    blocked_update = dict(user.last_update)
    async with rig.db.sessions() as session, session.begin():
        rows = await notify.notify_person(
            session, person_id=person_id, render=lambda _locale: Outgoing(text="有新进展")
        )
    assert rows == []  # pushes skip a person who blocked the bot
    sent_before = len(rig.api.calls_of("sendMessage"))

    await rig.api.redeliver(blocked_update)  # Telegram may deliver it again: handled once
    await rig.api.wait_confirmed(blocked_update["update_id"])
    update_id = str(blocked_update["update_id"])
    assert await _count(rig, ProcessedUpdate, ProcessedUpdate.update_id == update_id) == 1

    await user.unblock_bot()
    assert user.texts == []  # nothing is answered to a block or an unblock
    assert (await _identity(rig, user)).unreachable_at is None
    async with rig.db.sessions() as session, session.begin():
        rows = await notify.notify_person(
            session, person_id=person_id, render=lambda _locale: Outgoing(text="有新进展")
        )
    assert len(rows) == 1  # pushes resume
    await rig.sender.pump()
    await rig.sender.pump()  # the refreshed menu first, then the push: one row per chat a turn
    assert texts(user.messages)[-1] == "有新进展"
    assert len(rig.api.calls_of("sendMessage")) == sent_before + 1


async def test_blocking_drops_the_waiting_pushes(rig: Rig) -> None:
    user = rig.user()
    await user.send("/start")
    person_id = await _person_of(rig, user)
    async with rig.db.sessions() as session, session.begin():
        await notify.notify_person(
            session, person_id=person_id, render=lambda _locale: Outgoing(text="晚些再说")
        )
    await user.block_bot()
    statuses = await _count(rig, OutboxMessage, OutboxMessage.status == "pending")
    assert statuses == 0
    assert await _count(rig, OutboxMessage, OutboxMessage.status == "unreachable") == 1
    await rig.sender.pump()
    assert "晚些再说" not in texts(user.messages)


async def test_a_stranger_blocking_the_bot_leaves_no_trace(rig: Rig) -> None:
    people = await _count(rig, Person)
    stranger = rig.user()
    await stranger.block_bot()
    assert await _count(rig, Person) == people
    assert not stranger.messages


async def test_group_commands_for_another_bot_are_ignored(rig: Rig) -> None:
    member = rig.api.user(7_000_001, chat_id=-100_777)
    await member.send("/start@OtherBot")
    await member.send("/help@other_bot")
    assert member.messages == []
    assert await _count(rig, ProcessedUpdate, ProcessedUpdate.channel == "telegram") == 0
    username = rig.api.bot_user["username"].upper()  # usernames are case-insensitive
    await member.send(f"/start@{username}")
    assert member.texts and "红网格" in member.texts[0]


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_start_up_menus_skip_group_and_unreachable_chats(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    from bot.channels.telegram_runtime import catch_up_menus

    rig = await build_rig(framework, "polling", demo, settings, clock)
    try:
        async with demo.sessions() as session, session.begin():
            grid = (
                await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
            ).scalar_one()
            for external, chat, unreachable in (
                ("801", "801", None),
                ("802", "-100802", None),
                ("803", "803", clock()),
            ):
                person = Person(display_name=external, language="en")
                session.add(person)
                await session.flush()
                session.add(
                    ChannelIdentity(
                        person_id=person.id,
                        channel="telegram",
                        external_id=external,
                        chat_id=chat,
                        unreachable_at=unreachable,
                    )
                )
                session.add(RoleGrant(person_id=person.id, role=Role.steward, unit_id=grid.id))
        rig.client.known_commands = frozenset({"start", "queue"})
        await catch_up_menus(rig.engine, settings=settings)
        await rig.sender.pump()
        assert rig.api.menu("801") == ["start", "queue"]
        assert rig.api.menu("-100802") is None and rig.api.menu("803") is None
    finally:
        await rig.close()


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_menu_change_while_blocked_is_caught_up_on_unblock(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, "polling", demo, settings, clock)
    await rig.start_polling()
    try:
        staff = rig.user()
        await staff.send("/start " + await _invite(rig, Role.grid_staff, "heshun-1"))
        await rig.sender.pump()
        assert rig.api.menu(staff.chat_id) == _names(["grid_staff"])
        await staff.block_bot()
        staff_id = await _person_of(rig, staff)
        async with rig.db.sessions() as session, session.begin():
            actor = await _community_admin(session)
            unit = await rights.get_unit_by_code(session, code="heshun-1")
            assert await rights.revoke(
                session,
                actor=actor,
                person_id=staff_id,
                role=Role.grid_staff,
                unit=unit,
                now=clock(),
            )
        assert await _count(rig, OutboxMessage, OutboxMessage.status == "pending") == 0
        await staff.unblock_bot()
        await rig.sender.pump()
        assert rig.api.menu(staff.chat_id) is None
    finally:
        await rig.close()
