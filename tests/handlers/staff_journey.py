"""Steps shared by the staff conversation tests: staff chats, requests, snapshots."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.channels.testing import TestChat
from models import (
    CategoryCorrection,
    ChannelIdentity,
    OrgUnit,
    Person,
    Request,
    RequestEvent,
    RequestPhoto,
    Role,
    RoleGrant,
)
from tests.conftest import Bot

_staff = itertools.count(1)


async def press_more(chat: TestChat, label: str) -> None:
    """Open 更多操作 on the card and turn its pages (其他操作 ▸) until `label` shows; press it."""
    await chat.press("更多操作")
    while label not in chat.buttons and "其他操作 ▸" in chat.buttons:
        await chat.press("其他操作 ▸")
    await chat.press(label)


async def unit_id(bot: Bot, code: str) -> int:
    async with bot.db.sessions() as session:
        found = await session.execute(select(OrgUnit.id).where(OrgUnit.code == code))
        return int(found.scalar_one())


async def staff_chat(
    bot: Bot, *, role: Role = Role.grid_staff, unit: str = "heshun-1", language: str = "zh"
) -> TestChat:
    """A chat of a new person holding `role` on the unit with code `unit`."""
    user_id = f"staff-{unit}-{next(_staff)}"
    async with bot.db.sessions() as session, session.begin():
        person = Person(display_name=user_id, language=language)
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(
                person_id=person.id, channel="test", external_id=user_id, chat_id=user_id
            )
        )
        unit_row = (await session.execute(select(OrgUnit).where(OrgUnit.code == unit))).scalar_one()
        session.add(RoleGrant(person_id=person.id, role=role, unit_id=unit_row.id))
    return bot.chat(user_id, language_code=language)


async def request(bot: Bot, reference: str) -> Request:
    async with bot.db.sessions() as session:
        found = await session.execute(select(Request).where(Request.reference == reference))
        return found.scalar_one()


async def pump(bot: Bot) -> None:
    """Deliver pending pushes to the test channel."""
    sender = bot.engine.sender
    assert sender is not None
    for _ in range(20):
        if not await sender.pump():  # type: ignore[attr-defined]
            return


@dataclass(frozen=True)
class Snapshot:
    status: str
    owner_unit_id: int
    category_id: int
    events: int
    photos: int
    corrections: int


async def snapshot(bot: Bot, request_id: int) -> Snapshot:
    """Everything a staff action could change on a request."""
    async with bot.db.sessions() as session:
        row = await session.get(Request, request_id)
        assert row is not None

        async def count(model: type, column: object) -> int:
            query = select(func.count()).select_from(model).where(column == request_id)  # type: ignore[operator]
            return int((await session.execute(query)).scalar_one())

        return Snapshot(
            row.status.value,
            row.owner_unit_id,
            row.category_id,
            await count(RequestEvent, RequestEvent.request_id),
            await count(RequestPhoto, RequestPhoto.request_id),
            await count(CategoryCorrection, CategoryCorrection.request_id),
        )
