"""The paced sender through a real framework against a fake Bot API that enforces Telegram's
flood limits: everything is delivered, in order per chat, without one 429."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select

from bot import outbox
from bot.config import OutboxSettings, Settings
from bot.messages import Outgoing
from models import OutboxMessage
from tests.e2e.conftest import make_client
from tests.fakes.bot_api import FakeBotAPI

if TYPE_CHECKING:
    from tests.conftest import TestDB

CHATS = 20
PER_CHAT = 2
RATE = 15.0


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_sender_keeps_under_telegrams_limits(
    framework: str, db: TestDB, settings: Settings
) -> None:
    api = FakeBotAPI()
    flood = api.flood_limits(per_second=RATE, per_chat_per_second=1.0)
    await api.start()
    client = make_client(framework, api)
    await client.start()
    try:
        async with db.sessions() as session, session.begin():
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "channel": "telegram",
                        "chat_id": str(7000 + n % CHATS),
                        "payload": Outgoing(text=f"push {n // CHATS}").to_payload(),
                    }
                    for n in range(CHATS * PER_CHAT)
                ],
            )
        sender = outbox.Sender(
            db.sessions,
            {"telegram": client},
            OutboxSettings(global_rate=RATE, quiet_start="00:00", quiet_end="00:00"),
            settings.tz,
            worker_id="pacing",
            poll_interval=0.05,
        )
        stop = asyncio.Event()

        async def until_all_arrived() -> None:
            # The test database is one shared connection: watch the fake, not the outbox.
            while True:
                if sum(len(m) for m in api.messages.values()) >= CHATS * PER_CHAT:
                    stop.set()
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(asyncio.gather(sender.run(stop), until_all_arrived()), 30)

        async with db.sessions() as session:
            unsent = await session.scalar(
                select(func.count()).where(OutboxMessage.status != "sent")
            )
        assert unsent == 0
    finally:
        await client.close()
        await api.close()

    assert flood.too_many == 0
    received: dict[str, list[str]] = defaultdict(list)
    for chat_id, messages in api.messages.items():
        received[chat_id] = [m["text"] for m in messages]
    assert received == {str(7000 + c): [f"push {n}" for n in range(PER_CHAT)] for c in range(CHATS)}
