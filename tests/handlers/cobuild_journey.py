"""Steps shared by the dual-reporting conversation tests: liaisons, admins, members."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from bot.channels.testing import TestChat
from models import ChannelIdentity, Compound, Person, ReportingUnit, Role, UnitLiaison
from tests.conftest import Bot
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump, staff_chat

_liaisons = itertools.count(1)


async def liaison_chat(bot: Bot, unit: str = "zjj") -> TestChat:
    """A chat of a new person acting for the reporting unit with code `unit`."""
    user_id = f"liaison-{unit}-{next(_liaisons)}"
    async with bot.db.sessions() as session, session.begin():
        person = Person(display_name=user_id, language="zh")
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(
                person_id=person.id, channel="test", external_id=user_id, chat_id=user_id
            )
        )
        query = select(ReportingUnit.id).where(ReportingUnit.code == unit)
        unit_id = (await session.execute(query)).scalar_one()
        session.add(UnitLiaison(unit_id=unit_id, person_id=person.id))
    return bot.chat(user_id)


async def community_admin(bot: Bot, community: str = "heshun") -> TestChat:
    """A chat of an admin of the community."""
    return await staff_chat(bot, role=Role.admin, unit=community)


async def confirmed_member(
    bot: Bot, admin: TestChat, *, unit_label: str = "区住建局", room: str = "3-101"
) -> TestChat:
    """A resident of 和顺社区 who reports in for a unit and whom `admin` confirms."""
    member = bot.chat()
    await onboard(member, room=room)
    await member.send("/reportin")
    await member.press(unit_label)
    await pump(bot)
    await admin.press("✅ 确认")
    await pump(bot)
    return member


async def report_parking(chat: TestChat, text: str, *, me_too: str | None = None) -> str:
    """Report a parking problem (or say "me too" on `me_too`); returns the reference."""
    await chat.send(text)
    await chat.press("✅ 完成")
    await chat.press("✔ 是的，停车管理")
    await chat.press("一般")
    if me_too is not None:
        await chat.press(f"我也遇到了 {me_too}")
        return me_too
    if "仍然新提交" in chat.buttons:
        await chat.press("仍然新提交")
    await chat.press("✅ 提交")
    submitted = next(t for t in chat.texts if "诉求编号" in t)
    return submitted.split("诉求编号 ")[1].split("。")[0]


async def parking_cluster(bot: Bot) -> tuple[list[TestChat], list[str]]:
    """Three households of 海盛·新阳光地带 on parking: two requests and one "me too"."""
    residents = [bot.chat() for _ in range(3)]
    for resident, room in zip(residents, ("1-101", "1-202", "2-303"), strict=True):
        await onboard(resident, room=room)
    first = await report_parking(residents[0], "小区里车乱停，消防通道被堵")
    second = await report_parking(residents[1], "晚上没有停车位，车停不下")
    await report_parking(residents[2], "车位太少了", me_too=first)
    return residents, [first, second]


async def move_to(bot: Bot, user_id: str, compound: str) -> None:
    """Move a resident to another compound (out of a need's scope)."""
    async with bot.db.sessions() as session, session.begin():
        query = select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == user_id)
        person = await session.get(Person, (await session.execute(query)).scalar_one())
        found = await session.execute(select(Compound).where(Compound.code == compound))
        assert person is not None
        person.compound_id, person.building_id = found.scalar_one().id, None
