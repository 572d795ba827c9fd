"""Two senders on one PostgreSQL database share 5,000 rows: none twice, none left, in order."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from bot import migrate, outbox
from bot.config import OutboxSettings
from bot.db import create_engine, session_factory
from bot.messages import Outgoing
from models import OutboxMessage, OutboxStatus
from tests.conftest import PG_SKIP_REASON, PG_URL, create_postgres_database, drop_postgres_database
from tests.outbox.fakes import RecordingChannel

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]

ROWS = 5000
CHATS = 500


async def _yield(_seconds: float) -> None:
    # Limits are raised out of the way, so this only gives the other tasks a turn.
    await asyncio.sleep(0)


async def test_two_senders_deliver_every_row_exactly_once_in_chat_order() -> None:
    url, name = await create_postgres_database("redgrid_outbox")
    engines = [create_engine(url, pool_size=5) for _ in range(2)]
    try:
        await migrate.upgrade(engines[0])
        sessions = [session_factory(engine) for engine in engines]
        async with sessions[0]() as session, session.begin():
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "channel": "test",
                        "chat_id": str(n % CHATS),
                        "payload": Outgoing(text=str(n)).to_payload(),
                    }
                    for n in range(ROWS)
                ],
            )

        channel = RecordingChannel(clock=outbox.sender.utcnow)
        stop = asyncio.Event()
        channel.on_sent = lambda _sent: stop.set() if len(channel.sent) >= ROWS else None
        unlimited = outbox.Limits(global_rate=1e9, chat_rate=1e9, group_rate_per_minute=1e9)
        senders = [
            outbox.Sender(
                sessions[n],
                {"test": channel},
                OutboxSettings(quiet_start="00:00", quiet_end="00:00"),
                ZoneInfo("Asia/Shanghai"),
                worker_id=f"worker-{n}",
                sleep=_yield,
                limits=unlimited,
                max_in_flight=200,
            )
            for n in range(2)
        ]
        await asyncio.wait_for(asyncio.gather(*(s.run(stop) for s in senders)), timeout=300)

        counts = Counter(s.text for s in channel.sent)
        assert len(counts) == ROWS and max(counts.values()) == 1
        per_chat: dict[str, list[int]] = defaultdict(list)
        for sent in channel.sent:
            per_chat[sent.chat_id].append(int(sent.text))
        assert all(texts == sorted(texts) for texts in per_chat.values())
        async with sessions[1]() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                    )
                ).all()
            )
        assert statuses == {OutboxStatus.sent: ROWS}
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_postgres_database(name)
