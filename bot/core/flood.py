"""Flood control per person: past the limit, updates are held (handled later), never dropped.
At shutdown a held update is handled if its turn comes within the grace period, else given back
unconfirmed for its channel to deliver again.

A sliding one-minute window per (channel, user). The first update over the limit earns the
person one polite "slow down"; it and the rest wait until the window has room. The window is
per process: several workers each allow the limit (Telegram sends one chat's updates to one
webhook call at a time, so in practice a chat stays on one worker).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

WINDOW = 60.0
# At shutdown, a held update whose turn comes within this many seconds is still handled.
SHUTDOWN_GRACE = 5.0


class Deferred(Exception):
    """An update the flood limit held when the process began to stop: not handled and not
    confirmed, so its channel delivers it again (Telegram redelivers, the page retries)."""


async def hold(
    wait: float,
    *,
    stopping: asyncio.Event,
    grace: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> bool:
    """Wait `wait` seconds; False as soon as `stopping` is set while more than `grace`
    seconds are left (the caller gives the update back), True once the wait is over."""
    loop = asyncio.get_running_loop()
    due = loop.time() + wait
    if not stopping.is_set():
        sleeper = asyncio.ensure_future(sleep(wait))
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({sleeper, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when the caller is cancelled: no waiter outlives this call
            slept = sleeper.done()
            stopped.cancel()
            sleeper.cancel()
        if slept:
            sleeper.result()
            return True
    left = due - loop.time()
    if left > grace:
        return False
    await sleep(max(left, 0.0))
    return True


class FloodGate:
    """Decides how long an update must wait before it is handled."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._warned: dict[tuple[str, str], float] = {}

    def admit(self, key: tuple[str, str]) -> tuple[float, bool]:
        """Book a slot for one update: (seconds to wait first, whether to warn the person)."""
        if self.per_minute <= 0:
            return 0.0, False
        now = self.clock()
        seen = self._window(key, now)
        if len(seen) < self.per_minute:
            seen.append(now)
            return 0.0, False
        # The slot frees when the update `per_minute` places back leaves the window.
        start = seen[-self.per_minute] + WINDOW
        seen.append(start)
        warn = self._warned.get(key, -WINDOW) <= now - WINDOW
        if warn:
            self._warned[key] = now
        return start - now, warn

    def try_admit(self, key: tuple[str, str]) -> float:
        """Book a slot only if one is free now (0.0); else the seconds until one frees, and
        nothing is booked: for what should be refused rather than held (a photo's bytes)."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        seen = self._window(key, now)
        if len(seen) < self.per_minute:
            seen.append(now)
            return 0.0
        return seen[-self.per_minute] + WINDOW - now

    def _window(self, key: tuple[str, str], now: float) -> deque[float]:
        """The key's slots still inside the window."""
        if len(self._seen) > 10_000:
            self._forget_idle(now)  # before taking the key's deque, which it may drop
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - WINDOW:
            seen.popleft()
        return seen

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, seen in self._seen.items() if not seen or seen[-1] <= now - WINDOW]:
            del self._seen[key]
            self._warned.pop(key, None)
