"""The sender on both databases, with a fake clock: order, limits, retries, quiet hours, leases."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot import outbox
from bot.config import OutboxSettings
from bot.core.output import SendResult
from bot.messages import Outgoing
from models import ChannelIdentity, OutboxMessage, OutboxStatus, Person
from tests.conftest import TestDB
from tests.outbox.fakes import Crash, FakeClock, RecordingChannel, Sent

TZ = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2025, 3, 10, 10, 0, tzinfo=TZ).astimezone(UTC)
NIGHT = datetime(2025, 3, 10, 23, 0, tzinfo=TZ).astimezone(UTC)
EPSILON = 1e-3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MORNING)


@pytest.fixture
def channel(clock: FakeClock) -> RecordingChannel:
    return RecordingChannel(clock)


def make_sender(
    db: TestDB, clock: FakeClock, channel: RecordingChannel, **options: Any
) -> outbox.Sender:
    return outbox.Sender(
        db.sessions,
        {"test": channel},
        OutboxSettings(),
        TZ,
        clock,
        "worker-1",
        sleep=clock.sleep,
        rng=random.Random(7),
        **options,
    )


async def add(db: TestDB, chat_id: str, text: str, **options: Any) -> int:
    async with db.sessions() as session, session.begin():
        row = await outbox.enqueue(
            session, channel="test", chat_id=chat_id, message=Outgoing(text=text), **options
        )
    return row.id


async def rows(db: TestDB) -> dict[int, OutboxMessage]:
    async with db.sessions() as session:
        result = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return {row.id: row for row in result}


async def drain(db: TestDB, sender: outbox.Sender, clock: FakeClock, rounds: int = 500) -> None:
    """Pump until nothing is waiting, jumping the clock to the next row's time when idle."""
    waiting = OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending])
    for _ in range(rounds):
        if await sender.pump():
            continue
        async with db.sessions() as session:
            count = await session.scalar(select(func.count()).where(waiting))
            next_at = await session.scalar(
                select(func.min(OutboxMessage.not_before)).where(waiting)
            )
        if not count:
            return
        if next_at is not None and next_at > clock.now:
            clock.now = next_at
        else:
            clock.advance(1)
    raise AssertionError("the outbox did not drain")


def gaps(times: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


async def test_rows_go_in_chat_order_within_every_limit(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    chats = ["1001", "1002", "-100200"]  # the last is a Telegram group
    for n in range(5):
        for chat in chats:
            await add(db, chat, f"{chat}:{n}")
    sender = make_sender(db, clock, channel)
    await drain(db, sender, clock)

    for chat in chats:
        assert channel.texts(chat) == [f"{chat}:{n}" for n in range(5)]
    settings = OutboxSettings()
    private = [s.at for s in channel.sent if s.chat_id == "1001"]
    group = [s.at for s in channel.sent if s.chat_id == "-100200"]
    assert min(gaps(private)) >= 1 / settings.chat_rate - EPSILON
    assert min(gaps(group)) >= 60 / settings.group_rate_per_minute - EPSILON
    assert min(gaps([s.at for s in channel.sent])) >= 1 / settings.global_rate - EPSILON
    assert {row.status for row in (await rows(db)).values()} == {OutboxStatus.sent}


async def test_sent_rows_record_message_id_and_time(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    row_id = await add(db, "1", "hello")
    await make_sender(db, clock, channel).pump()
    row = (await rows(db))[row_id]
    assert (row.status, row.external_message_id, row.sent_at, row.attempts) == (
        OutboxStatus.sent,
        "1",
        clock.now,
        1,
    )


async def test_retry_after_pauses_the_chat_then_delivers_everything(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    channel.script("1", SendResult(ok=False, retry_after=5, error="429 Too Many Requests"))
    first = await add(db, "1", "a1")
    await add(db, "1", "a2")
    await add(db, "2", "b1")
    sender = make_sender(db, clock, channel)
    start = clock.now
    await drain(db, sender, clock)

    assert channel.texts("1") == ["a1", "a2"]
    assert channel.texts("2") == ["b1"]
    a1 = next(s for s in channel.sent if s.text == "a1")
    assert (a1.at - start).total_seconds() >= 5
    row = (await rows(db))[first]
    assert row.attempts == 2
    assert "retry after 5s" in row.last_error


async def test_retry_after_on_two_chats_pauses_every_chat(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    for chat in ("1", "2"):
        channel.script(chat, SendResult(ok=False, retry_after=10, error="429"))
        await add(db, chat, f"{chat}:a")
    sender = make_sender(db, clock, channel)
    start = clock.now
    await sender.pump()
    await add(db, "3", "3:a")
    await drain(db, sender, clock)
    third = next(s for s in channel.sent if s.chat_id == "3")
    assert (third.at - start).total_seconds() >= 10


async def test_server_errors_and_timeouts_are_retried_with_backoff(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    token_url = "https://api.telegram.org/bot123456:AAHsecretTOKENvalue_abcdefghijk/sendMessage"
    channel.script(
        "1",
        SendResult(ok=False, error=f"502 Bad Gateway from {token_url}"),
        TimeoutError("timed out"),
    )
    row_id = await add(db, "1", "hello")
    sender = make_sender(db, clock, channel)
    await sender.pump()
    failed = (await rows(db))[row_id]
    assert failed.status == OutboxStatus.pending
    assert failed.not_before is not None and failed.not_before > clock.now
    assert "AAHsecret" not in failed.last_error and "502 Bad Gateway" in failed.last_error

    await drain(db, sender, clock)
    row = (await rows(db))[row_id]
    assert (row.status, row.attempts) == (OutboxStatus.sent, 3)
    assert row.last_error == "TimeoutError: timed out"  # kept after success, for diagnosis
    calls = [c.at for c in channel.calls]
    assert len(calls) == 3
    first_wait, second_wait = gaps(calls)
    assert first_wait >= 0.5 and second_wait >= 1.0  # base 1 s, doubling, jitter 50-100 %


class DownFor(RecordingChannel):
    """The vendor answers 5xx, times out or says 429 in turn until `healthy_at`."""

    def __init__(self, clock: FakeClock, healthy_at: datetime) -> None:
        super().__init__(clock)
        self.healthy_at = healthy_at
        self.failures = itertools.cycle(
            [
                SendResult(ok=False, error="502 Bad Gateway"),
                TimeoutError("timed out"),
                SendResult(ok=False, retry_after=30, error="429 Too Many Requests"),
            ]
        )

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        if self.clock() < self.healthy_at:
            self.calls.append(Sent(chat_id, message.text, self.clock()))
            failure = next(self.failures)
            if isinstance(failure, BaseException):
                raise failure
            return failure
        return await super().send(chat_id, message)


async def test_hours_of_vendor_outage_lose_nothing_and_keep_chat_order(
    db: TestDB, clock: FakeClock
) -> None:
    channel = DownFor(clock, healthy_at=clock.now + timedelta(hours=3))
    for n in range(4):
        for chat in ("1", "2", "3"):
            await add(db, chat, f"{chat}-{n}")
    await drain(db, make_sender(db, clock, channel), clock, rounds=5000)
    assert clock.now >= channel.healthy_at
    for chat in ("1", "2", "3"):
        assert channel.texts(chat) == [f"{chat}-{n}" for n in range(4)]
    assert {row.status for row in (await rows(db)).values()} == {OutboxStatus.sent}


async def test_a_row_failing_too_often_is_given_up(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    channel.script("1", *[SendResult(ok=False, error="500") for _ in range(3)])
    row_id = await add(db, "1", "hello")
    later = await add(db, "1", "after")
    await drain(db, make_sender(db, clock, channel, max_attempts=3), clock)
    result = await rows(db)
    assert result[row_id].status == OutboxStatus.failed
    assert "gave up after 3 attempts" in result[row_id].last_error
    assert result[later].status == OutboxStatus.sent


async def test_permanent_error_fails_the_row_and_the_chat_goes_on(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    channel.script("1", SendResult(ok=False, permanent=True, error="400 message is too long"))
    bad = await add(db, "1", "bad")
    await add(db, "1", "good")
    await drain(db, make_sender(db, clock, channel), clock)
    assert channel.texts("1") == ["good"]
    result = await rows(db)
    assert (result[bad].status, result[bad].attempts) == (OutboxStatus.failed, 1)


async def test_unreachable_marks_the_identity_and_stops(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    async with db.sessions() as session, session.begin():
        person = Person(display_name="resident")
        session.add(person)
        await session.flush()
        blocked = ChannelIdentity(
            person_id=person.id, channel="test", external_id="42", chat_id="42"
        )
        other = ChannelIdentity(person_id=person.id, channel="test", external_id="43", chat_id="43")
        session.add_all([blocked, other])
    channel.script("42", SendResult(ok=False, unreachable=True, error="403 bot was blocked"))
    first = await add(db, "42", "one", person_id=person.id)
    second = await add(db, "42", "two", person_id=person.id)
    await drain(db, make_sender(db, clock, channel), clock)

    assert len(channel.calls) == 1
    result = await rows(db)
    assert result[first].status == result[second].status == OutboxStatus.unreachable
    assert "blocked" in result[first].last_error
    async with db.sessions() as session:
        result_rows = await session.execute(
            select(ChannelIdentity.chat_id, ChannelIdentity.unreachable_at)
        )
        marks = {chat_id: at for chat_id, at in result_rows}
    assert marks == {"42": clock.now, "43": None}


async def test_quiet_hours_defer_pushes_but_not_urgent_ones_or_replies(
    db: TestDB, channel: RecordingChannel
) -> None:
    clock = FakeClock(NIGHT)
    channel.clock = clock
    push = await add(db, "1", "push")
    urgent = await add(db, "1", "urgent", urgent=True)
    reply = await add(db, "2", "reply", is_reply=True)
    sender = make_sender(db, clock, channel)
    while await sender.pump():
        pass

    assert [s.text for s in channel.sent] == ["urgent", "reply"]
    morning = datetime(2025, 3, 11, 7, 0, tzinfo=TZ)
    result = await rows(db)
    assert result[push].status == OutboxStatus.pending and result[push].not_before == morning
    assert result[urgent].status == result[reply].status == OutboxStatus.sent

    await drain(db, sender, clock)
    assert channel.sent[-1].text == "push" and channel.sent[-1].at >= morning


async def test_deliver_now_sends_the_reply_after_earlier_rows_of_its_chat(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    await add(db, "1", "earlier push")
    other_chat = await add(db, "2", "other chat")
    replies = [await add(db, "1", f"reply {n}", is_reply=True) for n in (1, 2)]
    await make_sender(db, clock, channel).deliver_now(replies)

    assert [s.text for s in channel.sent] == ["earlier push", "reply 1", "reply 2"]
    assert (await rows(db))[other_chat].status == OutboxStatus.pending


async def test_deliver_now_leaves_rows_of_channels_it_does_not_serve(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    async with db.sessions() as session, session.begin():
        row = await outbox.enqueue(
            session, channel="webchat", chat_id="s1", message=Outgoing(text="hi")
        )
    sender = make_sender(db, clock, channel)
    await sender.deliver_now([row.id])
    assert await sender.pump() == 0
    assert (await rows(db))[row.id].status == OutboxStatus.pending


async def test_crash_after_send_is_resent_after_the_lease(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    # The at-least-once case: the worker died after Telegram accepted the message but before
    # it recorded that. Telegram's sendMessage has no idempotency key and no way to ask
    # "did this message go?", so the row cannot be told apart from one that never went, and a
    # later worker sends it again once the lease runs out. The window is one HTTP round trip.
    channel.script("1", Crash())
    row_id = await add(db, "1", "hello")
    with pytest.raises(BaseExceptionGroup):
        await make_sender(db, clock, channel).pump()
    assert (await rows(db))[row_id].status == OutboxStatus.sending

    survivor = make_sender(db, clock, channel, lease=60)
    assert await survivor.pump() == 0  # the lease still holds
    clock.advance(61)
    assert await survivor.pump() == 1
    row = (await rows(db))[row_id]
    assert (row.status, row.attempts) == (OutboxStatus.sent, 2)
    assert channel.texts("1") == ["hello", "hello"]


async def test_a_sent_row_is_never_sent_again(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    await add(db, "1", "once")
    sender = make_sender(db, clock, channel)
    await drain(db, sender, clock)
    clock.advance(3600)
    assert await sender.pump() == 0
    assert await make_sender(db, clock, channel).pump() == 0
    assert channel.texts("1") == ["once"]


async def test_run_delivers_until_stopped(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    expected = {f"{chat}:{n}" for chat in ("1", "2", "3", "-5") for n in range(4)}
    for text in sorted(expected):
        await add(db, text.split(":")[0], text)
    stop = asyncio.Event()
    channel.on_sent = lambda _sent: stop.set() if len(channel.sent) == len(expected) else None
    await asyncio.wait_for(make_sender(db, clock, channel).run(stop), timeout=60)

    assert {s.text for s in channel.sent} == expected
    for chat in ("1", "2", "3", "-5"):
        assert channel.texts(chat) == sorted(t for t in expected if t.startswith(f"{chat}:"))
    assert {row.status for row in (await rows(db)).values()} == {OutboxStatus.sent}


async def test_backlog_counts_rows_by_status(
    db: TestDB, clock: FakeClock, channel: RecordingChannel
) -> None:
    channel.script("9", SendResult(ok=False, permanent=True, error="400"))
    await add(db, "9", "fails")
    await make_sender(db, clock, channel).pump()
    await add(db, "1", "waiting")
    await add(db, "2", "later", not_before=clock.now + timedelta(hours=1))
    async with db.sessions() as session, session.begin():
        # created_at comes from the real clock; put it on the fake one.
        await session.execute(update(OutboxMessage).values(created_at=clock.now))
    clock.advance(30)
    async with db.sessions() as session:
        report = await outbox.backlog(session, now=clock.now)
    assert report["pending"] == 2 and report["failed"] == 1
    assert report["sending"] == report["unreachable"] == 0
    assert report["due"] == 1
    assert report["oldest_age_s"] == report["oldest_due_age_s"] == 30
