"""Command menus follow roles: every change of a person's roles writes, in its own transaction,
one menu row per own chat on a channel that shows menus (Telegram), and nowhere else."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.messages import CommandMenu, Outgoing
from bot.services.org import command_menu, people, rights
from bot.services.org.importer import DEMO_FILE, import_org
from models import ChannelIdentity, OrgUnit, OutboxMessage, Person, Role, RoleGrant
from tests import factories
from tests.conftest import TestDB

NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
EXTRA_PEOPLE = """
  - display_name: Telegram staff
    language: en
    identities: [{channel: telegram, external_id: "90001"}]
    roles: [{role: grid_staff, unit: heshun-1}, {role: resident, unit: heshun-1}]
  - display_name: Telegram resident
    identities: [{channel: telegram, external_id: "90002"}]
    roles: [{role: resident, unit: heshun-1}]
"""


async def _menus(session: AsyncSession) -> list[tuple[str, str, dict[str, object]]]:
    rows = await session.execute(
        select(OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.payload).order_by(
            OutboxMessage.id
        )
    )
    return [
        (channel, chat, payload["menu"]) for channel, chat, payload in rows if "menu" in payload
    ]


async def _person(session: AsyncSession, *identities: tuple[str, str, str]) -> Person:
    person = Person(display_name="someone", language="zh")
    session.add(person)
    await session.flush()
    for channel, external, chat in identities:
        session.add(
            ChannelIdentity(
                person_id=person.id, channel=channel, external_id=external, chat_id=chat
            )
        )
    await session.flush()
    return person


def test_a_menu_survives_the_outbox_payload() -> None:
    message = Outgoing(menu=CommandMenu(("admin", "volunteer"), "en"))
    assert Outgoing.from_payload(message.to_payload()) == message
    assert Outgoing.from_payload(Outgoing(text="hi").to_payload()).menu is None


async def test_grant_and_revoke_queue_menus_only_where_menus_exist(demo: TestDB) -> None:
    async with demo.sessions() as session, session.begin():
        community = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun"))
        ).scalar_one()
        # A real admin: a demo person's grants reach demo people only.
        admin = await factories.person(session, role=Role.admin, unit=community, channels=())
        unit = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        target = await _person(
            session,
            ("telegram", "5551", "5551"),  # their own chat
            ("webchat", "w-1", "w-1"),  # the outbox row would be a message there: none
        )
        grouped = await _person(session, ("telegram", "5552", "-100555"))  # first seen in a group
        await rights.grant(
            session, actor=admin, person_id=target.id, role=Role.grid_staff, unit=unit, now=NOW
        )
        await rights.grant(
            session, actor=admin, person_id=grouped.id, role=Role.grid_staff, unit=unit, now=NOW
        )
        assert await _menus(session) == [
            ("telegram", "5551", {"roles": ["grid_staff"], "locale": "zh"})
        ]
        _again, created = await rights.grant(
            session, actor=admin, person_id=target.id, role=Role.grid_staff, unit=unit, now=NOW
        )
        assert not created and len(await _menus(session)) == 1  # nothing changed, no row
        await rights.revoke(
            session, actor=admin, person_id=target.id, role=Role.grid_staff, unit=unit, now=NOW
        )
        last = (await _menus(session))[-1]
        assert last == ("telegram", "5551", {"roles": [], "locale": "zh"})
        urgent = await session.execute(
            select(OutboxMessage.urgent).where(OutboxMessage.chat_id == "5551")
        )
        assert all(urgent.scalars())  # quiet hours do not hold a menu


async def test_erasing_a_staff_member_resets_their_menu(demo: TestDB, settings: Settings) -> None:
    async with demo.sessions() as session, session.begin():
        unit = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        staff = await _person(session, ("telegram", "5561", "5561"))
        resident = await _person(session, ("telegram", "5562", "5562"))
        session.add(RoleGrant(person_id=staff.id, role=Role.steward, unit_id=unit.id))
        await session.flush()
        await people.erase(session, person=resident, now=NOW, settings=settings)
        assert await _menus(session) == []  # never had a staff menu
        await people.erase(session, person=staff, now=NOW, settings=settings)
        assert await _menus(session) == [("telegram", "5561", {"roles": [], "locale": "zh"})]


async def test_org_import_queues_menus_for_new_staff_only(demo: TestDB) -> None:
    document = DEMO_FILE.read_text(encoding="utf-8").rstrip("\n") + "\n" + EXTRA_PEOPLE
    async with demo.sessions() as session, session.begin():
        await import_org(session, document=document)
        assert await _menus(session) == [
            ("telegram", "90001", {"roles": ["grid_staff"], "locale": "en"})
        ]
        await import_org(session, document=document)  # nothing changed: nothing queued
        assert len(await _menus(session)) == 1
        assert await command_menu.staff_ids(session)  # the demo staff, and the new one


async def test_targets_skip_unreachable_chats(demo: TestDB) -> None:
    async with demo.sessions() as session, session.begin():
        unit = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        staff = await _person(session, ("telegram", "5571", "5571"))
        session.add(RoleGrant(person_id=staff.id, role=Role.grid_staff, unit_id=unit.id))
        await session.flush()
        assert len(await command_menu.menu_targets(session, person_ids=[staff.id])) == 1
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == "5571")
            )
        ).scalar_one()
        identity.unreachable_at = NOW
        await session.flush()
        assert await command_menu.menu_targets(session, person_ids=[staff.id]) == []


async def test_a_chat_waits_for_one_menu_however_many_changes_came(demo: TestDB) -> None:
    async with demo.sessions() as session, session.begin():
        community = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun"))
        ).scalar_one()
        admin = await factories.person(session, role=Role.admin, unit=community, channels=())
        target = await _person(session, ("telegram", "5571", "5571"))
        for code in ("heshun-1", "heshun-2"):
            unit = (await session.execute(select(OrgUnit).where(OrgUnit.code == code))).scalar_one()
            await rights.grant(
                session, actor=admin, person_id=target.id, role=Role.grid_staff, unit=unit, now=NOW
            )
        statuses = await session.execute(
            select(OutboxMessage.status)
            .where(OutboxMessage.chat_id == "5571")
            .order_by(OutboxMessage.id)
        )
        assert list(statuses.scalars()) == ["superseded", "pending"]  # the last change wins
