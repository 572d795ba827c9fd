"""The send budget several senders on one PostgreSQL database share.

- **Bot-wide** (Telegram's ~30 messages a second): each sender keeps to its share, the limit
  divided by the workers alive (their heartbeat rows, re-read every heartbeat), with its own
  gate's sliding window; so N senders together stay within the limit however their sends
  bunch up, without a round trip per send. A worker that comes or goes changes the shares
  within a heartbeat.
- **Per chat**: a chat's rows go out one at a time across all workers (the claim takes only a
  chat's oldest row), but one after another from different workers, so no worker's own count
  says what the chat has had. The chat's send mark (a `send_marks` row) holds what does, and a
  sender takes the chat's turn on it in one statement right before it sends:
  - its pace, as the time of its last send: the gap is the longest of ~1 message a second to
    a chat, a Telegram group's 20 a minute (one every 3 s: the token bucket a single sender
    keeps, burst 1) and a channel's own `chat_gap` (a WeChat openid's pace);
  - the windows a channel keeps per chat (`chat_windows`: WeCom's 25 a minute and 900 an hour
    per member, a group robot's 18 a minute), as the times of the chat's messages still
    inside the longest window, one per message (a delivery of a photo and a card counts
    two), oldest first (`recent`). A window of n messages in s seconds has room for c more
    when the message n - c places back from the newest is s seconds old: one subscript, not
    a count. Times older than the longest window are dropped as the turn is taken, so the
    array holds at most the longest window's count (900 floats for a WeCom member).
  The statement is an upsert whose condition PostgreSQL checks again on the row as it is
  once its lock is held, so two workers racing for one chat cannot both pass on the same
  old times; a turn not given costs a second statement, how long to wait. Not a table of
  send times: that would need a lock statement, a count, an insert and a prune per send,
  where the array is one row read and written in one statement.

Times are the database's clock (one clock for all workers), or the clock given (a test's).

A worker alone (bot.workers, `workers.shared: auto` with no other worker alive, or "never")
takes no chat turn: its own pacing per chat holds. When a second worker appears, the chats
this one sent to within the last gap have no mark yet: each may get one message from the
other worker up to a gap (~1 s) early, once, in the first gap after the switch.

PostgreSQL rather than Redis: both are counted at rates a database row serves easily (tens a
second), every worker already holds connections to it, and a second server would be one more
thing to run, back up and watch. On SQLite (one process) none of this is used.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.limits import Gate, Limits, Windows
from bot.workers import Workers

log = logging.getLogger(__name__)

# Added to a chat's gap: a send reaches the vendor a moment after its turn was taken, not the
# same moment each time, so two turns exactly a gap apart could arrive a little closer.
SLACK_S = 0.05

_NOW = "coalesce(CAST(:now AS float8), extract(epoch FROM clock_timestamp()))"
_GAP_PASSED = f"send_marks.last_at <= to_timestamp({_NOW} - CAST(:gap AS float8))"

# Take the chat's turn when its last send is `gap` seconds old (or there was none); no row
# back means wait: then how long.
_TURN = text(
    "INSERT INTO send_marks (channel, chat_id, last_at) "
    f"VALUES (:channel, :chat, to_timestamp({_NOW})) "
    f"ON CONFLICT (channel, chat_id) DO UPDATE SET last_at = to_timestamp({_NOW}) "
    f"WHERE {_GAP_PASSED} RETURNING 0"
)
_GAP_LEFT = f"extract(epoch FROM send_marks.last_at) + CAST(:gap AS float8) - {_NOW}"
_LEFT = text(f"SELECT {_GAP_LEFT} FROM send_marks WHERE channel = :channel AND chat_id = :chat")

# The windows as (n, span) rows; for each, the time of the message that must have left it
# before `cost` more fit (n - cost places back from the newest), when there are that many.
_RECENT = "send_marks.recent"
_COUNT = f"coalesce(cardinality({_RECENT}), 0)"
_WINDOWS = "unnest(CAST(:counts AS int[]), CAST(:spans AS float8[])) AS w(n, span)"
_BESIDE = "(w.n - least(CAST(:cost AS int), w.n))"
_BLOCKER = f"{_RECENT}[{_COUNT} - {_BESIDE}]"
_FULL = f"SELECT 1 FROM {_WINDOWS} WHERE {_COUNT} > {_BESIDE} AND {_BLOCKER} > {_NOW} - w.span"
# The times still inside the longest window (a prefix of older ones dropped), then this
# delivery's, never before the newest (the array stays in order whatever the clocks did).
_KEPT = (
    f"{_RECENT}[(SELECT count(*) FROM unnest({_RECENT}) AS x "
    f"WHERE x <= {_NOW} - CAST(:longest AS float8))::int + 1:]"
)
_ADDED = f"array_fill(greatest({_NOW}, {_RECENT}[{_COUNT}]), ARRAY[CAST(:cost AS int)])"
_WINDOWED_TURN = text(
    "INSERT INTO send_marks (channel, chat_id, last_at, recent) "
    f"VALUES (:channel, :chat, to_timestamp({_NOW}), "
    f"array_fill({_NOW}, ARRAY[CAST(:cost AS int)])) "
    f"ON CONFLICT (channel, chat_id) DO UPDATE SET last_at = to_timestamp({_NOW}), "
    f"recent = {_KEPT} || {_ADDED} "
    f"WHERE {_GAP_PASSED} AND NOT EXISTS ({_FULL}) RETURNING 0"
)
_WINDOWED_LEFT = text(
    f"SELECT greatest({_GAP_LEFT}, "
    f"(SELECT max({_BLOCKER} + w.span) FROM {_WINDOWS} WHERE {_COUNT} > {_BESIDE}) - {_NOW}) "
    "FROM send_marks WHERE channel = :channel AND chat_id = :chat"
)


class SharedBudget:
    """This sender's part of the budget the workers of one PostgreSQL database share."""

    def __init__(
        self,
        workers: Workers,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.workers = workers
        self._sleep = sleep
        self._clock = clock
        # The times chats' turns are taken at: the database's clock, unless a test gives one.
        self._now = now
        self._counted_at = -1e9
        self.living = 1

    async def share(self) -> int:
        """How many workers share the bot-wide limit now (read at most once a heartbeat)."""
        now = self._clock()
        if now - self._counted_at >= self.workers.heartbeat_s:
            self._counted_at = now
            living = await self.workers.living()
            self.living = max(1, len(living) + (self.workers.id not in living))
        return self.living

    async def keep_share(self, gate: Gate, limits: Limits) -> None:
        """Set `gate` to this worker's share of the bot-wide limit (kept as it was when the
        workers cannot be counted just now)."""
        try:
            living = await self.share()
        except Exception as exc:
            log.warning("outbox: counting workers failed (%s)", type(exc).__name__)
            return
        gate.set_rate(limits.global_rate / living, limits.global_burst / living)

    def _turn(
        self, channel: str, chat_id: str, gap: float, windows: Windows, cost: int
    ) -> tuple[TextClause, TextClause, dict[str, object]]:
        """The statements taking the chat's turn and telling how long until it comes."""
        params: dict[str, object] = {"channel": channel, "chat": chat_id, "gap": gap + SLACK_S}
        if not windows:
            return _TURN, _LEFT, params
        params.update(
            counts=[int(n) for n, _ in windows],
            spans=[float(span) for _, span in windows],
            longest=max(span for _, span in windows),
            cost=max(1, cost),
        )
        return _WINDOWED_TURN, _WINDOWED_LEFT, params

    def _stamp(self, params: dict[str, object]) -> dict[str, object]:
        params["now"] = self._now().timestamp() if self._now is not None else None
        return params

    async def take_turn_in(
        self,
        session: AsyncSession,
        channel: str,
        chat_id: str,
        gap: float,
        *,
        windows: Windows = (),
        cost: int = 1,
    ) -> bool:
        """Take the chat's turn in `session` (a transaction of the caller's, which locked the
        chat already: a reply's update) when it is free now: True. Nothing waits, and nothing
        is taken when it is not free (or when this worker is alone: no turn is needed)."""
        if self.workers.alone:
            return False
        turn, _, params = self._turn(channel, chat_id, gap, windows, cost)
        return (await session.execute(turn, self._stamp(params))).first() is not None

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
        """Wait until the chat's last send, by any worker, is `gap` seconds old and each of
        its `windows` has room for `cost` more messages, then take the chat's turn (its last
        send is now, the messages counted in its windows): 0. When the wait would outlast
        `within` seconds, nothing is taken: the seconds it would still be."""
        if self.workers.alone:
            return 0.0
        turn, left_of, params = self._turn(channel, chat_id, gap, windows, cost)
        waited = 0.0
        while True:
            async with self.workers.sessions() as session, session.begin():
                if (await session.execute(turn, self._stamp(params))).first() is not None:
                    return 0.0
                left = max(float((await session.execute(left_of, params)).scalar() or 0.0), 0.001)
            if left > within - waited:
                return left
            await self._sleep(left)
            waited += left
