"""The sender through the real frameworks against the fake Bot API: 429 storms, 5xx, timeouts,
a process killed between sending and recording, and two sender processes on one PostgreSQL.

A crash after Telegram accepted a message but before the outbox recorded it is the one case of
at-least-once delivery: the Bot API has no idempotency key and no way to ask whether a message
arrived, so the row is sent again when its lease runs out (see bot/outbox/sender.py).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, insert, select

from bot import migrate, outbox
from bot.channels.telegram_base import TelegramAdapter
from bot.config import OutboxSettings
from bot.core.output import SendResult
from bot.db import create_engine, session_factory
from bot.messages import Outgoing
from models import OutboxMessage, OutboxStatus
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    create_postgres_database,
    drop_postgres_database,
)
from tests.e2e.conftest import make_client
from tests.fakes.bot_api import FakeBotAPI, texts
from tests.outbox.fakes import Crash, FakeClock
from tests.outbox.test_sender import MORNING, TZ, drain

if TYPE_CHECKING:
    from tests.conftest import TestDB

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["ptb", "aiogram"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api() -> Any:
    server = FakeBotAPI()
    await server.start()
    yield server
    await server.close()


def make_sender(db: TestDB, client: Any, clock: FakeClock, worker: str = "w1") -> outbox.Sender:
    return outbox.Sender(
        db.sessions,
        {"telegram": client},
        OutboxSettings(global_rate=1e6, chat_rate=1e6, group_rate_per_minute=1e6),
        TZ,
        clock,
        worker,
        sleep=clock.sleep,
        rng=random.Random(3),
        backoff_base=0.5,
    )


async def enqueue(db: TestDB, chats: int, per_chat: int) -> None:
    async with db.sessions() as session, session.begin():
        for n in range(per_chat):
            for chat in range(chats):
                await outbox.enqueue(
                    session,
                    channel="telegram",
                    chat_id=str(5000 + chat),
                    message=Outgoing(text=f"{chat}:{n}"),
                )


def received(api: FakeBotAPI) -> dict[str, list[str]]:
    return {chat: texts(messages) for chat, messages in api.messages.items()}


def expected(chats: int, per_chat: int) -> dict[str, list[str]]:
    return {str(5000 + c): [f"{c}:{n}" for n in range(per_chat)] for c in range(chats)}


async def test_a_429_storm_delays_but_delivers_everything_once_in_order(
    framework: str, api: FakeBotAPI, db: TestDB
) -> None:
    clock = FakeClock(MORNING)
    client = make_client(framework, api)
    await client.start()
    try:
        await enqueue(db, chats=4, per_chat=5)
        api.fail(
            "sendMessage", status=429, description="Too Many Requests", retry_after=3, times=25
        )
        await drain(db, make_sender(db, client, clock), clock)
    finally:
        await client.close()
    assert received(api) == expected(4, 5)
    assert sum(1 for call in api.calls_of("sendMessage") if call.status == 429) == 25


async def test_server_errors_and_timeouts_are_retried_until_delivered(
    framework: str, api: FakeBotAPI, db: TestDB
) -> None:
    clock = FakeClock(MORNING)
    client = make_client(framework, api, timeout=0.3)
    await client.start()
    try:
        await enqueue(db, chats=3, per_chat=3)
        api.fail("sendMessage", status=502, description="Bad Gateway", times=4)
        api.fail("sendMessage", status=500, description="Internal Server Error", times=2)
        # Answers slower than the client waits: the framework gives up, the row is retried.
        api.fail("sendMessage", delay=0.6, times=2)
        await drain(db, make_sender(db, client, clock), clock)
    finally:
        await client.close()
    assert received(api) == expected(3, 3)
    async with db.sessions() as session:
        attempts = await session.scalar(select(func.max(OutboxMessage.attempts)))
    assert attempts is not None and attempts > 1


class DiesAfterSending:
    """The process dies right after Telegram accepted the message, before it is recorded."""

    name = "telegram"
    supports_buttons = True

    def __init__(self, client: TelegramAdapter) -> None:
        self.client = client

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        await self.client.send(chat_id, message)
        raise Crash


async def test_killed_between_send_and_record_sends_again_after_the_lease(
    framework: str, api: FakeBotAPI, db: TestDB
) -> None:
    clock = FakeClock(MORNING)
    client = make_client(framework, api)
    await client.start()
    try:
        await enqueue(db, chats=1, per_chat=1)
        dying = make_sender(db, DiesAfterSending(client), clock, worker="dies")
        with pytest.raises(BaseExceptionGroup) as crash:
            await dying.pump()
        assert crash.group_contains(Crash)
        assert received(api) == {"5000": ["0:0"]}
        restarted = make_sender(db, client, clock, worker="restarted")
        assert await restarted.pump() == 0  # the dead worker's lease still holds the row
        clock.advance(restarted.lease.total_seconds() + 1)
        await drain(db, restarted, clock)
    finally:
        await client.close()
    # The documented at-least-once case: the Bot API gives no way to know it arrived.
    assert received(api) == {"5000": ["0:0", "0:0"]}
    async with db.sessions() as session:
        statuses = (await session.scalars(select(OutboxMessage.status))).all()
    assert statuses == [OutboxStatus.sent]


# --- two sender processes on one PostgreSQL ---------------------------------------------------

ROWS = 5000
CHATS = 250
WORKER = """
import asyncio, sys
from zoneinfo import ZoneInfo
from sqlalchemy import func, select
from bot import outbox
from bot.channels.telegram_aiogram import AiogramTelegram
from bot.config import OutboxSettings
from bot.db import create_engine, session_factory
from models import OutboxMessage

async def main(url, base, token, name):
    engine = create_engine(url, pool_size=3)
    sessions = session_factory(engine)
    client = AiogramTelegram.create(token, base, timeout=10)
    await client.start()
    limits = outbox.Limits(global_rate=1e9, chat_rate=1e9, group_rate_per_minute=1e9)
    sender = outbox.Sender(sessions, {"telegram": client}, OutboxSettings(
        quiet_start="00:00", quiet_end="00:00"), ZoneInfo("Asia/Shanghai"), worker_id=name,
        limits=limits, poll_interval=0.05, max_in_flight=100)
    stop = asyncio.Event()

    async def until_done():
        while True:
            async with sessions() as session:
                left = await session.scalar(
                    select(func.count()).where(OutboxMessage.status != "sent"))
            if not left:
                stop.set()
                return
            await asyncio.sleep(0.1)

    await asyncio.gather(sender.run(stop), until_done())
    await client.close()
    await engine.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)
async def test_two_sender_processes_deliver_5000_rows_once_each_in_chat_order(
    api: FakeBotAPI,
) -> None:
    url, name = await create_postgres_database("redgrid_two_senders")
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "channel": "telegram",
                        "chat_id": str(5000 + n % CHATS),
                        "payload": Outgoing(text=str(n)).to_payload(),
                    }
                    for n in range(ROWS)
                ],
            )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", WORKER, url, api.base_url, api.token, f"process-{n}", env=env
            )
            for n in range(2)
        ]
        codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 240)
        assert codes == [0, 0]
        by_chat: dict[str, list[int]] = defaultdict(list)
        for chat, messages in api.messages.items():
            by_chat[chat] = [int(text) for text in texts(messages)]
        delivered = [n for numbers in by_chat.values() for n in numbers]
        assert sorted(delivered) == list(range(ROWS))  # none lost, none twice
        assert all(numbers == sorted(numbers) for numbers in by_chat.values())
        async with session_factory(engine)() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    )
                ).all()
            )
        assert statuses == {OutboxStatus.sent: ROWS}
    finally:
        await engine.dispose()
        await drop_postgres_database(name)
