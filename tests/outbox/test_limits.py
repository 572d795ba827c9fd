"""Token buckets, the priority gate and quiet hours, on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import OutboxSettings
from bot.outbox import Limits, QuietHours, clean_error
from bot.outbox.limits import Gate, TokenBucket
from tests.outbox.fakes import FakeClock

TZ = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def test_bucket_spaces_tokens_and_pauses() -> None:
    bucket = TokenBucket(rate=2.0, burst=1.0, now=0.0)
    assert bucket.wait_time(0.0) == 0
    bucket.take(0.0)
    assert bucket.wait_time(0.0) == 0.5
    bucket.pause(0.25, 10)
    assert bucket.wait_time(5.0) == 5.25
    assert bucket.wait_time(10.25) == 0.5  # starts empty after a pause


def test_limits_come_from_settings_and_may_be_raised() -> None:
    settings = OutboxSettings(global_rate=1e6, chat_rate=1e6, group_rate_per_minute=1e6)
    limits = Limits.from_settings(settings, global_burst=100)
    assert (limits.global_rate, limits.chat_rate, limits.global_burst) == (1e6, 1e6, 100)


async def test_gate_serves_replies_before_pushes() -> None:
    clock = FakeClock(local(10))
    gate = Gate(limit=1.0, burst=1.0, now=lambda: clock().timestamp(), sleep=clock.sleep)
    await gate.acquire(2)  # the one token there was
    gate.done()
    order: list[str] = []

    async def take(label: str, priority: int) -> None:
        await gate.acquire(priority)
        order.append(label)
        gate.done()

    tasks = [asyncio.create_task(take(f"push{n}", 2)) for n in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(take("reply", 0)))
    await asyncio.gather(*tasks)
    # push0 was already at the head, sleeping for its token; the reply goes next.
    assert order == ["push0", "reply", "push1", "push2"]


async def test_gate_makes_up_late_starts_but_never_overfills_a_second() -> None:
    """Sends the event loop started late are made up by the next ones, yet no one-second
    window (as Telegram counts) ever holds more than the limit."""
    clock = FakeClock(local(10))

    async def late_sleep(seconds: float) -> None:
        await clock.sleep(seconds + 0.003)  # a busy event loop wakes sleepers late

    gate = Gate(limit=100.0, burst=1.0, now=lambda: clock().timestamp(), sleep=late_sleep)
    start = clock().timestamp()
    times: list[float] = []
    for _ in range(1000):
        await gate.acquire(2)
        times.append(clock().timestamp() - start)
        gate.done()
    # Any 101 consecutive sends span more than a second.
    assert min(b - a for a, b in zip(times, times[100:], strict=False)) > 1.0
    # Pacing near the limit: a late start costs nothing later (1 / 1.025 of the limit at best).
    assert len(times) / times[-1] > 0.95 * 100


async def test_a_send_counts_until_a_second_after_its_answer() -> None:
    """Telegram saw a send somewhere between letting it through and its answer: the window
    counts it until a second after the answer, so slow answers never lead to a bunch."""
    clock = FakeClock(local(10))
    gate = Gate(limit=10.0, burst=1.0, now=lambda: clock().timestamp(), sleep=clock.sleep)
    for _ in range(10):
        await gate.acquire(2)  # ten sends out, none answered yet
    eleventh = asyncio.create_task(gate.acquire(2))
    for _ in range(100):
        await asyncio.sleep(0)
    assert not eleventh.done()
    answered_at = clock().timestamp()
    gate.done()
    await eleventh
    assert clock().timestamp() - answered_at >= 1.0


def test_quiet_hours_across_midnight() -> None:
    quiet = QuietHours("22:00", "07:00", TZ)
    assert [quiet.is_quiet(local(h)) for h in (21, 22, 23, 0, 6)] == [False, True, True, True, True]
    assert not quiet.is_quiet(local(7))
    assert quiet.ends_at(local(23)) == local(7, day=11)
    assert quiet.ends_at(local(3)) == local(7)


def test_quiet_hours_within_a_day_and_none() -> None:
    daytime = QuietHours("12:00", "14:00", TZ)
    assert daytime.is_quiet(local(13)) and not daytime.is_quiet(local(15))
    assert not QuietHours("00:00", "00:00", TZ).is_quiet(local(3))


def test_errors_lose_secrets() -> None:
    text = (
        "POST https://api.telegram.org/bot123456789:AAE_abcdefghijklmnopqrstuvwxyz/sendMessage "
        "failed; token=abc123 Authorization: Bearer xyz.987"
    )
    cleaned = clean_error(text)
    for secret in ("AAE_abc", "abc123", "xyz.987"):
        assert secret not in cleaned
    assert len(clean_error("x" * 5000)) == 500


def test_a_chat_window_counts_each_delivery_at_its_cost() -> None:
    """A channel's window per chat: at most `count` messages in any `span`; a delivery that
    becomes three messages takes three places."""
    from bot.outbox.limits import ChatWindow

    window = ChatWindow(5, 60.0)
    assert window.wait_time(0.0, 3) == 0
    window.take(0.0, 3)
    window.take(10.0)
    assert window.wait_time(20.0) == 0
    assert window.wait_time(20.0, 2) == 40.0  # the first three leave at 60
    window.take(20.0)
    assert window.wait_time(30.0) == 30.0
    assert window.wait_time(60.0, 3) == 0 and not window.is_idle(60.0)
    assert window.is_idle(80.0)


def test_a_chats_gap_is_the_longest_of_its_pace_a_groups_minute_and_the_channels_own() -> None:
    """The gap the workers of one database keep between two sends to one chat: a second, one
    every 3 s in a Telegram group (20 a minute), and a WeChat openid's own pace when slower."""
    from bot.channels.wechat.outbound import WechatChannel
    from bot.config_channels import WechatSettings
    from bot.outbox.limits import Limits, chat_gap
    from models import utcnow

    limits = Limits()
    assert chat_gap(limits, object(), group=False) == 1.0
    assert chat_gap(limits, object(), group=True) == 3.0
    wechat = WechatChannel(
        settings=WechatSettings(sends_per_openid_per_s=0.5),
        sessions=None,  # type: ignore[arg-type]
        client=None,  # type: ignore[arg-type]
        tokens=None,  # type: ignore[arg-type]
        clock=utcnow,
    )
    assert chat_gap(limits, wechat, group=False) == 2.0
    assert chat_gap(Limits(chat_rate=0.25), wechat, group=False) == 4.0
