"""Three senders on one PostgreSQL database keep a chat's windows together, on the test clock
(nothing sleeps for real): one WeCom member never gets more than 25 messages in a minute, one
Telegram group never more than 20. The control shares only the chat's pace (a second between
sends), the windows and the group's minute kept by each sender alone: together they go past.
Below that, the statement itself: budgets racing for one chat with costs never overfill it."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import outbox
from bot.channels.telegram_ptb import PtbTelegram
from bot.channels.wecom.setup import make_channel
from bot.config import OutboxSettings
from bot.core.output import OutputChannel
from bot.db import session_factory
from bot.messages import Outgoing
from bot.outbox.limits import Windows
from bot.outbox.shared import SharedBudget
from bot.workers import Workers
from models import OutboxMessage, OutboxStatus
from tests.channels.wecom.conftest import wecom_settings
from tests.conftest import PG_SKIP_REASON, PG_URL, migrated_postgres
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.wecom_api import FakeWecomAPI
from tests.outbox.fakes import FakeClock

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)]

SENDERS = 3
MEMBER = "zhangsan"
GROUP = "-100500"
# A lease longer than any wait for a window, so no row is handed back while the clock is still.
LEASE = 2 * 3600.0


class PaceOnly(SharedBudget):
    """The control: the chat's pace shared (a second), its windows and a group's minute kept
    by each sender alone, as before they were shared."""

    async def chat_turn(
        self,
        channel: str,
        chat_id: str,
        gap: float,
        *,
        windows: Windows = (),
        cost: int = 1,
        within: float = math.inf,
    ) -> float:
        return await super().chat_turn(channel, chat_id, min(gap, 1.0), cost=cost, within=within)


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    async with migrated_postgres("redgrid_windows", pool_size=6) as engine:
        yield engine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 24, 1, 30, tzinfo=UTC))


def most_in(times: list[float], span: float) -> int:
    """The most of `times` within any `span` seconds (one `span` old is out, as WeCom counts)."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - span:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _write(
    sessions: async_sessionmaker[AsyncSession], channel: str, chat_id: str, count: int
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "channel": channel,
                    "chat_id": chat_id,
                    "payload": Outgoing(text=f"通知 {n}").to_payload(),
                }
                for n in range(count)
            ],
        )


async def _unsent(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        query = select(func.count()).where(OutboxMessage.status != OutboxStatus.sent)
        return int((await session.execute(query)).scalar_one())


async def _send_all(
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    channels: list[OutputChannel],
    budget: type[SharedBudget],
) -> None:
    """Three senders, each with its own channel, deliver every row between them."""
    senders = []
    for n, channel in enumerate(channels):
        workers = Workers(sessions, f"sender-{n}", shared=True)
        await workers.beat()
        senders.append(
            outbox.Sender(
                sessions,
                {channel.name: channel},
                OutboxSettings(quiet_start="00:00", quiet_end="00:00"),
                ZoneInfo("Asia/Shanghai"),
                clock,
                workers.id,
                sleep=clock.sleep,
                lease=LEASE,
                shared=budget(workers, sleep=clock.sleep, now=clock),
            )
        )
    done = asyncio.Event()

    async def deliver(sender: outbox.Sender) -> None:
        # A chat's rows go out one at a time: the senders without one look again at once.
        while not done.is_set():
            if not await sender.pump():
                if await _unsent(sessions) == 0:
                    done.set()
                await asyncio.sleep(0.002)

    await asyncio.wait_for(asyncio.gather(*(deliver(s) for s in senders)), 120)


async def _wecom_run(
    engine: AsyncEngine, clock: FakeClock, tmp_path: Path, budget: type[SharedBudget]
) -> FakeWecomAPI:
    api = FakeWecomAPI(now=clock)
    await api.start()
    api.members.add(MEMBER)
    sessions = session_factory(engine)
    settings = wecom_settings(api, tmp_path / "uploads")
    channels = [make_channel(settings, sessions, clock) for _ in range(SENDERS)]
    try:
        await _write(sessions, "wecom", MEMBER, 60)
        await _send_all(sessions, clock, list(channels), budget)
    finally:
        for channel in channels:
            await channel.api.close()
        await api.close()
    return api


async def test_three_senders_keep_a_wecom_members_minute_together(
    pg_engine: AsyncEngine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    started = clock()
    api = await _wecom_run(pg_engine, clock, tmp_path, SharedBudget)
    times = [m["at"].timestamp() for m in api.sent[MEMBER]]
    assert len(times) == 60 and not api.dropped
    assert most_in(times, 60.0) <= 25
    assert clock() - started >= timedelta(minutes=2)  # paced, on the test clock
    assert api.texts(MEMBER) == [f"通知 {n}" for n in range(60)]  # in order


async def test_control_the_members_windows_kept_apart_go_past_its_minute(
    pg_engine: AsyncEngine, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    api = await _wecom_run(pg_engine, clock, tmp_path, PaceOnly)
    times = [m["at"].timestamp() for m in api.sent[MEMBER]]
    # WeCom takes 30 a minute and drops the rest without a word.
    assert most_in(times, 60.0) > 25 or api.dropped[MEMBER] > 0


async def _telegram_run(
    engine: AsyncEngine, clock: FakeClock, budget: type[SharedBudget]
) -> list[float]:
    api = FakeBotAPI(clock=lambda: clock().timestamp())
    await api.start()
    clients = [PtbTelegram.create(api.token, api.base_url, timeout=5) for _ in range(SENDERS)]
    sessions = session_factory(engine)
    try:
        for client in clients:
            await client.start()
        await _write(sessions, "telegram", GROUP, 45)
        await _send_all(sessions, clock, list(clients), budget)
    finally:
        for client in clients:
            await client.close()
        await api.close()
    sent = [c for c in api.calls_of("sendMessage") if c.status == 200]
    assert len(sent) == 45
    return [c.at for c in sent]


async def test_three_senders_keep_a_telegram_groups_minute_together(
    pg_engine: AsyncEngine, clock: FakeClock
) -> None:
    started = clock()
    times = await _telegram_run(pg_engine, clock, SharedBudget)
    assert most_in(times, 60.0) <= 20
    assert clock() - started >= timedelta(minutes=2)


async def test_control_the_groups_minute_kept_apart_goes_past_20(
    pg_engine: AsyncEngine, clock: FakeClock
) -> None:
    times = await _telegram_run(pg_engine, clock, PaceOnly)
    assert most_in(times, 60.0) > 20


async def test_budgets_racing_for_one_chat_never_overfill_its_windows(
    pg_engine: AsyncEngine, clock: FakeClock
) -> None:
    """Six tasks of three budgets take turns at once, with costs of one to three messages;
    the times kept (the longest window keeps them all) hold every window."""
    sessions = session_factory(pg_engine)
    # The last window never fills: it keeps every time for the test to read.
    windows: Windows = ((7, 10.0), (12, 30.0), (100, 1000.0))
    budgets = [
        SharedBudget(Workers(sessions, f"w{n}", shared=True), sleep=clock.sleep, now=clock)
        for n in range(SENDERS)
    ]
    costs = itertools.cycle([1, 2, 3, 1])
    taken: list[int] = []

    async def take(budget: SharedBudget, cost: int) -> None:
        for _ in range(2):
            assert await budget.chat_turn("wecom", MEMBER, 0.0, windows=windows, cost=cost) == 0
            taken.append(cost)

    await asyncio.gather(*(take(b, next(costs)) for b in budgets for _ in range(2)))
    async with sessions() as session:
        query = text("SELECT recent FROM send_marks WHERE chat_id = :chat")
        recent: list[float] = (await session.execute(query, {"chat": MEMBER})).scalar_one()
    assert len(recent) == sum(taken) and recent == sorted(recent)
    assert most_in(recent, 10.0) <= 7 and most_in(recent, 30.0) <= 12
    assert recent[-1] - recent[0] >= 30  # the windows held the turns back
