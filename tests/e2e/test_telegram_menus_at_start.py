"""A restart with command menus waiting: one menu call per chat, and the first reply is not held
back a second behind it (the chat's one-message-a-second budget is the replies' alone)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from bot.channels.telegram_runtime import catch_up_menus, make_update_handler
from bot.config import Settings
from bot.core.engine import Engine
from bot.messages import CommandMenu, Outgoing
from bot.outbox import Sender
from handlers import build_router
from models import ChannelIdentity, OrgUnit, OutboxMessage, Person, Role, RoleGrant
from tests.conftest import Clock
from tests.e2e.conftest import make_client
from tests.fakes.bot_api import FakeBotAPI
from tests.outbox.fakes import FakeClock

if TYPE_CHECKING:
    from tests.conftest import TestDB

STAFF_CHAT = "9101"
FORMER_CHAT = "9102"


async def _people(db: TestDB) -> None:
    """A grid worker with three menu rows waiting from before the restart, and a former one
    (no role any more) with two."""
    async with db.sessions() as session, session.begin():
        grid = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        for chat, role in ((STAFF_CHAT, Role.grid_staff), (FORMER_CHAT, None)):
            person = Person(display_name=chat, language="zh")
            session.add(person)
            await session.flush()
            session.add(
                ChannelIdentity(
                    person_id=person.id, channel="telegram", external_id=chat, chat_id=chat
                )
            )
            if role is not None:
                session.add(RoleGrant(person_id=person.id, role=role, unit_id=grid.id))
            waiting = 3 if role is not None else 2
            for n in range(waiting):
                roles = ("grid_staff",) if n % 2 == 0 else ()
                message = Outgoing(menu=CommandMenu(roles, "zh"))
                session.add(
                    OutboxMessage(
                        channel="telegram",
                        chat_id=chat,
                        person_id=person.id,
                        payload=message.to_payload(),
                        urgent=True,
                    )
                )


async def _waiting(db: TestDB, chat: str) -> int:
    async with db.sessions() as session:
        query = select(func.count()).where(
            OutboxMessage.chat_id == chat, OutboxMessage.status == "pending"
        )
        return int(await session.scalar(query) or 0)


def _update(update_id: int, chat: str, text: str) -> dict[str, object]:
    user = {"id": int(chat), "is_bot": False, "first_name": "网格员", "language_code": "zh"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": int(chat), "type": "private", "first_name": "网格员"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_restart_coalesces_menus_and_answers_at_once(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    await _people(demo)
    api = FakeBotAPI()
    flood = api.flood_limits(per_second=30, per_chat_per_second=1.0)
    await api.start()
    client = make_client(framework, api)
    await client.start()
    fake = FakeClock(clock())
    outputs = {client.name: client}
    # Telegram's own limits (one message a second per chat), on a clock that moves only when
    # the sender waits: how long a reply waited is how far the clock moved.
    sender = Sender(
        demo.sessions, outputs, settings.outbox, settings.tz, clock=fake, sleep=fake.sleep
    )
    engine = Engine(
        sessions=demo.sessions,
        settings=settings,
        router=build_router(),
        outputs=outputs,
        sender=sender,
        clock=fake,
    )
    try:
        client.known_commands = frozenset(engine.router.commands)
        assert await catch_up_menus(engine, settings=settings) >= 1
        assert await _waiting(demo, STAFF_CHAT) == 1  # three menus waiting: one call
        assert await _waiting(demo, FORMER_CHAT) == 1  # the newest of two
        await sender.pump()
        scopes = [c.params.get("scope") for c in api.calls_of("setMyCommands")]
        assert scopes.count({"type": "chat", "chat_id": int(STAFF_CHAT)}) == 1
        assert "queue" in (api.menu(STAFF_CHAT) or [])
        assert len(api.calls_of("deleteMyCommands")) == 1  # the former worker's newest: none
        assert api.menu(FORMER_CHAT) is None

        before = fake()
        handle = make_update_handler(engine, client)
        await handle(_update(1, STAFF_CHAT, "/help"))
        assert api.messages[STAFF_CHAT], "no reply"
        assert (fake() - before).total_seconds() < 0.5  # not held back behind the menu
        assert flood.too_many == 0
    finally:
        await client.close()
        await api.close()
