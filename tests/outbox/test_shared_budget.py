"""Three senders on one PostgreSQL database share Telegram's limits: together they never send
more than the bot-wide limit in any second, nor two messages to one chat within a second
(the fake Bot API answers 429 past either, as Telegram does)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import outbox
from bot.channels.telegram_ptb import PtbTelegram
from bot.config import OutboxSettings
from bot.db import session_factory
from bot.messages import Outgoing
from bot.outbox.shared import SharedBudget
from bot.workers import Workers
from models import OutboxMessage, OutboxStatus
from tests.conftest import PG_SKIP_REASON, PG_URL, migrated_postgres
from tests.fakes.bot_api import FakeBotAPI
from tests.outbox.test_shared_windows import most_in

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]

SENDERS = 3
RATE = 30  # Telegram's bot-wide limit a second
CHATS = 90
ONE_CHAT = "7000"
TO_ONE_CHAT = 4


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_budget", pool_size=6) as engine:
        yield engine


async def _pending(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        query = select(func.count()).where(OutboxMessage.status != OutboxStatus.sent)
        return int((await session.execute(query)).scalar_one())


async def test_three_senders_together_keep_to_the_bot_wide_and_per_chat_limits(
    pg_engine: AsyncEngine,
) -> None:
    api = FakeBotAPI()
    await api.start()
    flood = api.flood_limits(per_second=RATE, per_chat_per_second=1)
    sessions = session_factory(pg_engine)
    rows = [{"chat_id": str(1000 + n), "n": n} for n in range(CHATS)]
    rows += [{"chat_id": ONE_CHAT, "n": CHATS + n} for n in range(TO_ONE_CHAT)]
    async with sessions() as session, session.begin():
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "channel": "telegram",
                    "chat_id": r["chat_id"],
                    "payload": Outgoing(text=f"notice {r['n']}").to_payload(),
                }
                for r in rows
            ],
        )
    clients = [PtbTelegram.create(api.token, api.base_url, timeout=5) for _ in range(SENDERS)]
    stop = asyncio.Event()
    senders = []
    for n, client in enumerate(clients):
        await client.start()
        workers = Workers(sessions, f"sender-{n}", shared=True, heartbeat_s=0.5)
        await workers.beat()
        senders.append(
            outbox.Sender(
                sessions,
                {"telegram": client},
                OutboxSettings(quiet_start="00:00", quiet_end="00:00"),
                ZoneInfo("Asia/Shanghai"),
                worker_id=workers.id,
                poll_interval=0.05,
                shared=SharedBudget(workers),
            )
        )
    started = asyncio.get_running_loop().time()
    tasks = [asyncio.create_task(sender.run(stop)) for sender in senders]
    try:
        for _ in range(600):
            if await _pending(pg_engine) == 0:
                break
            await asyncio.sleep(0.05)
        took = asyncio.get_running_loop().time() - started
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients:
            await client.close()
        await api.close()
    assert await _pending(pg_engine) == 0
    sent = [c for c in api.calls_of("sendMessage") if c.status == 200]
    assert len(sent) == len(rows)
    assert flood.too_many == 0
    assert most_in([c.at for c in sent], 1.0) <= RATE
    to_one = sorted(c.at for c in sent if str(c.params["chat_id"]) == ONE_CHAT)
    assert len(to_one) == TO_ONE_CHAT
    assert min(b - a for a, b in itertools.pairwise(to_one)) >= 1.0
    assert took >= (len(rows) - RATE) / RATE  # no faster than the limit allows
