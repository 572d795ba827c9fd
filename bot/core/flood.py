"""Flood control per person: past the limit, updates are held (handled later), never dropped.
At shutdown a held update is handled if its turn comes within the grace period, else given back
unconfirmed for its channel to deliver again.

A sliding one-minute window per (channel, user). The first update over the limit earns the
person one polite "slow down"; it and the rest wait until the window has room. `FloodGate`
keeps the window in this process (SQLite: the only one); `SharedFloodGate` keeps it in a
PostgreSQL row per person, so several workers together allow the limit, not each of them.
A worker alone on PostgreSQL (bot.workers, `workers.shared: auto`) keeps it in the process
instead, a transaction per update saved; when a second worker appears it writes the windows
of the last minute to the database (merged with what is there), and when it is alone again
it reads them back, so a switch loses no one's updates. Off by at most: the updates the
other worker booked in the heartbeat before this one saw it (its windows were in the
database, this worker's not yet), and the clocks' difference between this machine and the
database's (the windows change hands as epoch seconds).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

if TYPE_CHECKING:
    from bot.workers import Workers

log = logging.getLogger(__name__)

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

    async def book(self, key: tuple[str, str]) -> tuple[float, bool]:
        """`admit`, for callers that may share the window with other workers."""
        return self.admit(key)

    def books_in_turn(self) -> bool:
        """Whether the update's slot is booked in the update's own transaction
        (`try_book_in`): a shared window, with other workers alive. In the process it is
        booked first (`book`): no statement to save."""
        return False

    async def try_book_in(self, session: AsyncSession, key: tuple[str, str]) -> bool:
        """Book the update's slot in `session` (the update's transaction) when one is free
        now: True. Else False, and nothing is booked: the caller rolls the update back,
        books with `book` and holds it outside any transaction."""
        raise NotImplementedError

    async def try_book(self, key: tuple[str, str]) -> float:
        """`try_admit`, for callers that may share the window with other workers."""
        return self.try_admit(key)

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


# The window as the times of a person's last `limit` updates (handled or booked): the next
# one's time is now, or a minute after the one `limit` places back, whichever is later; it
# waits until then. The same rule as FloodGate's, in one statement whichever worker books.
_NOW = "extract(epoch FROM statement_timestamp())::float8"
_CARD = "cardinality(flood_windows.slots)"
_OLDEST = f"flood_windows.slots[{_CARD} - :limit + 1]"
_BOOK_SQL = (
    "INSERT INTO flood_windows (channel, user_id, slots) "
    f"VALUES (:channel, :user, ARRAY[{_NOW}]) "
    "ON CONFLICT (channel, user_id) DO UPDATE SET slots = CASE "
    f"WHEN {_CARD} >= :limit THEN flood_windows.slots[{_CARD} - :limit + 2:] "
    f"|| greatest({_NOW}, {_OLDEST} + :window) "
    f"ELSE flood_windows.slots || {_NOW} END "
    "{only_now}"
    f"RETURNING slots[cardinality(slots)] - {_NOW}, warned_at IS NULL OR "
    "warned_at <= statement_timestamp() - make_interval(secs => :window)"
)
_BOOK = text(_BOOK_SQL.format(only_now=""))
# Book only when the update would not wait (a photo is refused rather than held).
_TRY_BOOK = text(
    _BOOK_SQL.format(only_now=f"WHERE {_CARD} < :limit OR {_OLDEST} + :window <= {_NOW} ")
)
_WARNED = text(
    "UPDATE flood_windows SET warned_at = statement_timestamp() "
    "WHERE channel = :channel AND user_id = :user"
)
_LEFT = text(
    f"SELECT {_OLDEST} + :window - {_NOW} FROM flood_windows "
    "WHERE channel = :channel AND user_id = :user"
)


# A window the process kept alone, merged into the person's row: the last `limit` of both.
_HAND_OVER = text(
    "INSERT INTO flood_windows (channel, user_id, slots) VALUES (:channel, :user, :slots) "
    "ON CONFLICT (channel, user_id) DO UPDATE SET slots = (SELECT array_agg(s ORDER BY s) "
    "FROM (SELECT s FROM unnest(flood_windows.slots || EXCLUDED.slots) AS s "
    "ORDER BY s DESC LIMIT :limit) AS last)"
)
# The windows with an update in the last minute, for a worker left alone.
_RECENT = text(
    f"SELECT channel, user_id, slots FROM flood_windows WHERE slots[cardinality(slots)] > "
    f"{_NOW} - :window"
)


class SharedFloodGate(FloodGate):
    """The flood window in the database, shared by the workers of one PostgreSQL database:
    one statement per update, in the update's own transaction when a slot is free (the
    person's chat is locked there anyway; no transaction of its own to pay for), else in one
    of its own before the update's, so a held update holds no lock; in the process while
    `workers` says this one is alone."""

    def __init__(
        self,
        per_minute: int,
        sessions: async_sessionmaker[AsyncSession],
        workers: Workers | None = None,
    ) -> None:
        super().__init__(per_minute)
        self.sessions = sessions
        self.workers = workers
        if workers is not None:
            workers.on_switch.append(self._switched)

    def _alone(self) -> bool:
        return self.workers is not None and self.workers.alone

    async def _switched(self, alone: bool) -> None:
        """Hand the windows over: to this process when alone, else to the database."""
        if self.per_minute <= 0:
            return
        offset = time.time() - self.clock()  # this process's clock to epoch seconds
        if alone:
            async with self.sessions() as session:
                rows = (await session.execute(_RECENT, {"window": WINDOW})).all()
            for r in rows:  # with any booked here since `alone` turned
                key = (r.channel, r.user_id)
                mine = self._seen.get(key, ())
                self._seen[key] = deque(sorted([*(t - offset for t in r.slots), *mine]))
            return
        async with self.sessions() as session, session.begin():
            now = self.clock()
            for key, seen in list(self._seen.items()):
                slots = [t + offset for t in seen if t > now - WINDOW]
                if slots:
                    params = {**self._params(key), "slots": slots}
                    await session.execute(_HAND_OVER, params)
            self._seen.clear()

    def _params(self, key: tuple[str, str]) -> dict[str, object]:
        return {"channel": key[0], "user": key[1], "limit": self.per_minute, "window": WINDOW}

    async def book(self, key: tuple[str, str]) -> tuple[float, bool]:
        if self.per_minute <= 0:
            return 0.0, False
        if self._alone():
            return self.admit(key)
        params = self._params(key)
        async with self.sessions() as session, session.begin():
            wait, may_warn = (await session.execute(_BOOK, params)).one()
            wait = max(float(wait), 0.0)
            warn = wait > 0 and bool(may_warn)
            if warn:
                await session.execute(_WARNED, params)
        return wait, warn

    def books_in_turn(self) -> bool:
        return self.per_minute > 0 and not self._alone()

    async def try_book_in(self, session: AsyncSession, key: tuple[str, str]) -> bool:
        return (await session.execute(_TRY_BOOK, self._params(key))).first() is not None

    async def try_book(self, key: tuple[str, str]) -> float:
        if self.per_minute <= 0:
            return 0.0
        if self._alone():
            return self.try_admit(key)
        params = self._params(key)
        async with self.sessions() as session, session.begin():
            if (await session.execute(_TRY_BOOK, params)).first() is not None:
                return 0.0
            left = (await session.execute(_LEFT, params)).scalar()
        return max(float(left or 0.0), 0.001)
