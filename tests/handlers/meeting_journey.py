"""Steps shared by the meeting conversation tests: residents, a roof-leak request."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from bot.channels.testing import TestChat
from bot.services.cases import intake
from models import Building, Category, ChannelIdentity, Compound, Meeting, Person, Request
from tests.conftest import Bot

_people = itertools.count(1)


async def building_id(bot: Bot, number: str, compound: str = "haisheng-sunshine") -> int:
    async with bot.db.sessions() as session:
        stmt = (
            select(Building.id)
            .join(Compound, Compound.id == Building.compound_id)
            .where(Compound.code == compound, Building.number == number)
        )
        return int((await session.execute(stmt)).scalar_one())


async def resident(
    bot: Bot, name: str, *, building: str, room: str, compound: str = "haisheng-sunshine"
) -> TestChat:
    """A registered resident (with a test-channel identity) living at building/room."""
    user_id = f"res-{next(_people)}"
    bid = await building_id(bot, building, compound)
    async with bot.db.sessions() as session, session.begin():
        row = await session.get(Building, bid)
        assert row is not None
        person = Person(
            display_name=name,
            language="zh",
            compound_id=row.compound_id,
            building_id=bid,
            unit_room=room,
        )
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(
                person_id=person.id, channel="test", external_id=user_id, chat_id=user_id
            )
        )
    return bot.chat(user_id)


async def demo_resident(bot: Bot, name: str) -> TestChat:
    """A resident of the demo district (张阿姨, 李叔叔: building 17, flat 2-301), on "test"."""
    user_id = f"demo-{next(_people)}"
    async with bot.db.sessions() as session, session.begin():
        person = (
            await session.execute(select(Person).where(Person.display_name == name))
        ).scalar_one()
        session.add(
            ChannelIdentity(
                person_id=person.id, channel="test", external_id=user_id, chat_id=user_id
            )
        )
    return bot.chat(user_id)


async def roof_leak(bot: Bot, reporter: TestChat) -> Request:
    """Building 17's leaking roof, reported by `reporter` (a common-area housing repair)."""
    async with bot.db.sessions() as session, session.begin():
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == reporter.user_id)
            )
        ).scalar_one()
        person = await session.get(Person, identity.person_id)
        category = (
            await session.execute(select(Category).where(Category.slug == "housing_repair"))
        ).scalar_one()
        assert person is not None
        return await intake.submit(
            session,
            reporter=person,
            category=category,
            description="17号楼楼顶漏水，顶层好几户屋里都渗水了",
            building_id=person.building_id,
            compound_id=person.compound_id,
            place_scope="common_area",
            channel="test",
            now=bot.clock(),
            settings=bot.engine.settings,
        )


async def latest_meeting(bot: Bot) -> Meeting:
    async with bot.db.sessions() as session:
        stmt = select(Meeting).order_by(Meeting.id.desc()).limit(1)
        return (await session.execute(stmt)).scalar_one()


def received(chat: TestChat, needle: str) -> list[str]:
    """Texts this chat ever received that contain `needle`."""
    return [m.text for m in chat.messages if needle in m.text]
