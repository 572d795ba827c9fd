"""Rate limits for the sender: token buckets on an injectable clock, with priority for replies.

Telegram's published limits: about 30 messages/s for the whole bot, about 1 message/s per chat,
20 messages/min per group. https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
A channel may add windows of its own per chat (`ChatWindow`): WeCom drops messages past 30 a
minute and 1,000 an hour per member, and a group robot takes 20 a minute.
Every rate is a plain float with no upper bound, so a benchmark can raise them at will.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config import OutboxSettings
from bot.messages import Outgoing

Seconds = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limits:
    """Rates and bursts the sender keeps to; build from settings, override for benchmarks."""

    global_rate: float = 30.0
    chat_rate: float = 1.0
    group_rate_per_minute: float = 20.0
    global_burst: float = 1.0
    chat_burst: float = 1.0
    group_burst: float = 1.0

    @classmethod
    def from_settings(cls, settings: OutboxSettings, **overrides: float) -> Limits:
        """The limits named in the outbox settings."""
        values: dict[str, float] = {
            "global_rate": settings.global_rate,
            "chat_rate": settings.chat_rate,
            "group_rate_per_minute": settings.group_rate_per_minute,
        }
        values.update(overrides)
        return cls(**values)


class TokenBucket:
    """A token bucket: `rate` tokens per second, holding at most `burst`."""

    __slots__ = ("_paused_until", "_tokens", "_updated", "burst", "rate")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._updated = now
        self._paused_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when it is now)."""
        self._refill(now)
        wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate
        return max(wait, self._paused_until - now, 0.0)

    def take(self, now: float) -> None:
        """Spend one token (the caller has waited for it)."""
        self._refill(now)
        self._tokens -= 1.0

    def pause(self, now: float, seconds: float) -> None:
        """Give nothing out for `seconds` (the vendor asked us to wait), then start empty."""
        self._paused_until = max(self._paused_until, now + seconds)
        self._refill(now)
        self._tokens = 0.0
        self._updated = self._paused_until

    def is_idle(self, now: float) -> bool:
        """True when the bucket is full and unpaused, so forgetting it changes nothing."""
        self._refill(now)
        return self._tokens >= self.burst and now >= self._paused_until


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    woken: asyncio.Event = field(compare=False, default_factory=asyncio.Event)


class SlidingWindow:
    """At most `count` sends in any `span` seconds, as Telegram counts the bot-wide limit.

    A send counts from when it was let through until `span` after its answer came back:
    Telegram saw it somewhere in between, so however the requests bunch up on the way (a
    busy event loop, a slow network), no `span` at Telegram's end holds more than `count`.
    """

    __slots__ = ("_answered", "_open", "count", "span")

    def __init__(self, count: float, span: float) -> None:
        self.count = max(1, int(count))
        self.span = span
        self._answered: deque[float] = deque()
        self._open = 0

    def wait_time(self, now: float) -> float:
        """Seconds until one more send fits (0 when it does now)."""
        answered = self._answered
        while answered and answered[0] <= now - self.span:
            answered.popleft()
        if len(answered) + self._open < self.count:
            return 0.0
        # Every place is taken by a send still waiting for its answer: look again shortly.
        return answered[0] + self.span - now if answered else self.span / 100

    def take(self) -> None:
        self._open += 1

    def answered(self, now: float) -> None:
        self._open -= 1
        self._answered.append(now)


# The bot-wide gate: a token bucket at the limit with a small burst, so a send the event loop
# starts a moment late is made up by the next ones instead of lost for good, within the
# sliding window above, so the catching up never overfills a second.
BURST_FRACTION = 0.02


class Gate:
    """The bot-wide limit. Waiters are served by priority (replies first), then arrival."""

    def __init__(self, limit: float, burst: float, now: Seconds, sleep: Sleep) -> None:
        self.bucket = TokenBucket(limit, max(burst, limit * BURST_FRACTION), now())
        self.window = SlidingWindow(limit, 1.0)
        self._now = now
        self._sleep = sleep
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()

    def set_rate(self, limit: float, burst: float = 1.0) -> None:
        """Keep to `limit` a second from now on (this sender's share of a shared limit)."""
        self.bucket.rate = limit
        self.bucket.burst = max(1.0, burst, limit * BURST_FRACTION)
        self.window.count = max(1, int(limit))

    def _wait_time(self) -> float:
        now = self._now()
        return max(self.bucket.wait_time(now), self.window.wait_time(now))

    def _take(self) -> None:
        self.bucket.take(self._now())
        self.window.take()

    def done(self) -> None:
        """The send let through by `acquire` has its answer (or was not made after all)."""
        self.window.answered(self._now())

    async def acquire(self, priority: int) -> None:
        """Wait for a token; lower `priority` numbers go first. Call `done` after the send."""
        if not self._waiters and self._wait_time() == 0:
            self._take()
            return
        waiter = _Waiter(priority, next(self._seq))
        heapq.heappush(self._waiters, waiter)
        try:
            while True:
                if self._waiters[0] is waiter:
                    wait = self._wait_time()
                    if wait == 0:
                        heapq.heappop(self._waiters)
                        self._take()
                        return
                    # Only the head sleeps on the clock; the others wait to become the head.
                    await self._sleep(wait)
                else:
                    await waiter.woken.wait()
                    waiter.woken.clear()
        except BaseException:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                heapq.heapify(self._waiters)
            raise
        finally:
            if self._waiters:
                self._waiters[0].woken.set()


class ChatWindow:
    """At most `count` messages to one chat in any `span` seconds; a delivery may count for
    several messages (a photo and its card)."""

    __slots__ = ("_sent", "count", "span")

    def __init__(self, count: int, span: float) -> None:
        self.count = max(1, int(count))
        self.span = span
        self._sent: deque[float] = deque()

    def _drop_old(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.span:
            self._sent.popleft()

    def wait_time(self, now: float, cost: int = 1) -> float:
        """Seconds until `cost` more messages fit (0 when they do now)."""
        self._drop_old(now)
        cost = min(max(1, cost), self.count)
        over = len(self._sent) + cost - self.count
        return 0.0 if over <= 0 else self._sent[over - 1] + self.span - now

    def take(self, now: float, cost: int = 1) -> None:
        self._sent.extend([now] * max(1, cost))

    def is_idle(self, now: float) -> bool:
        self._drop_old(now)
        return not self._sent


# A channel's windows per chat: (count, span in seconds) pairs.
Windows = tuple[tuple[int, float], ...]


def channel_windows(channels: Mapping[str, object]) -> dict[str, Windows]:
    """The windows each channel asks for per chat (its `chat_windows`), by channel name."""
    found = {name: tuple(getattr(c, "chat_windows", ())) for name, c in channels.items()}
    return {name: windows for name, windows in found.items() if windows}


def delivery_cost(channel: object, payload: dict[str, Any]) -> int:
    """How many of the vendor's messages an outbox row becomes (the channel's `cost`, else 1)."""
    cost = getattr(channel, "cost", None)
    return int(cost(Outgoing.from_payload(payload))) if cost is not None else 1


def chat_gap(limits: Limits, channel: object, *, group: bool) -> float:
    """Seconds between two sends to one chat: its pace, a group's share of the minute (one
    every 3 s for Telegram's 20, as the group's bucket allows) or the channel's own
    (`chat_gap`: a WeChat openid's), whichever is longest."""
    gaps = [1.0 / limits.chat_rate, float(getattr(channel, "chat_gap", 0.0))]
    if group:
        gaps.append(60.0 / limits.group_rate_per_minute)
    return max(gaps)


class ChatLimits:
    """Per-chat buckets (and group buckets on top), and the windows a channel asks for per
    chat (`windows`: channel name -> (count, seconds) pairs); one task at a time uses a
    chat's buckets."""

    def __init__(
        self,
        limits: Limits,
        now: Seconds,
        sleep: Sleep,
        windows: dict[str, Windows] | None = None,
    ) -> None:
        self._limits = limits
        self._now = now
        self._sleep = sleep
        self._chats: dict[tuple[str, str], list[TokenBucket]] = {}
        self._window_spec = windows or {}
        self._windows: dict[tuple[str, str], list[ChatWindow]] = {}

    def _chat_windows(self, key: tuple[str, str]) -> list[ChatWindow]:
        found = self._windows.get(key)
        if found is None:
            found = [ChatWindow(count, span) for count, span in self._window_spec.get(key[0], ())]
            if found:
                self._windows[key] = found
        return found

    def _buckets(self, key: tuple[str, str], is_group: bool) -> list[TokenBucket]:
        buckets = self._chats.get(key)
        if buckets is None:
            now = self._now()
            limits = self._limits
            buckets = [TokenBucket(limits.chat_rate, limits.chat_burst, now)]
            if is_group:
                rate = limits.group_rate_per_minute / 60.0
                buckets.append(TokenBucket(rate, limits.group_burst, now))
            self._chats[key] = buckets
        return buckets

    async def wait(self, key: tuple[str, str], *, is_group: bool, cost: int = 1) -> None:
        """Sleep until the chat may receive one more delivery (`cost` messages)."""
        buckets = self._buckets(key, is_group)
        windows = self._chat_windows(key)
        while (wait := self._wait_time(buckets, windows, cost)) > 0:
            await self._sleep(wait)

    def _wait_time(self, buckets: list[TokenBucket], windows: list[ChatWindow], cost: int) -> float:
        now = self._now()
        waits = [b.wait_time(now) for b in buckets] + [w.wait_time(now, cost) for w in windows]
        return max(waits)

    def take(self, key: tuple[str, str], *, is_group: bool, cost: int = 1) -> None:
        """Record one delivery (`cost` messages) to the chat."""
        now = self._now()
        for bucket in self._buckets(key, is_group):
            bucket.take(now)
        for window in self._chat_windows(key):
            window.take(now, cost)

    def pause(self, key: tuple[str, str], seconds: float, *, is_group: bool) -> None:
        """Send nothing to the chat for `seconds`."""
        now = self._now()
        for bucket in self._buckets(key, is_group):
            bucket.pause(now, seconds)

    def forget_idle(self) -> None:
        """Drop buckets of chats that are back to full, so memory follows active chats only."""
        now = self._now()
        idle = [k for k, bs in self._chats.items() if all(b.is_idle(now) for b in bs)]
        for key in idle:
            del self._chats[key]
        quiet = [k for k, ws in self._windows.items() if all(w.is_idle(now) for w in ws)]
        for key in quiet:
            del self._windows[key]
