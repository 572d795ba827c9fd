"""The send budget several senders on one PostgreSQL database share.

- **Bot-wide** (Telegram's ~30 messages a second): each sender keeps to its share, the limit
  divided by the workers alive (their heartbeat rows, re-read every heartbeat), with its own
  gate's sliding window; so N senders together stay within the limit however their sends
  bunch up, without a round trip per send. A worker that comes or goes changes the shares
  within a heartbeat.
- **Per chat** (~1 message a second to one chat; a WeChat openid's pace): a chat's rows go out
  one at a time across all workers (the claim takes only a chat's oldest row), but one after
  another from different workers; so the chat's last send time is a row (`send_marks`), and a
  sender takes the chat's turn in one statement right before it sends.

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
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from bot.outbox.limits import Gate, Limits
from bot.workers import Workers

log = logging.getLogger(__name__)

# Added to a chat's gap: a send reaches the vendor a moment after its turn was taken, not the
# same moment each time, so two turns exactly a gap apart could arrive a little closer.
SLACK_S = 0.05

# Take the chat's turn when its last send is `gap` seconds old (or there was none); no row
# back means wait: then how long.
_TURN = text(
    "INSERT INTO send_marks (channel, chat_id, last_at) "
    "VALUES (:channel, :chat, clock_timestamp()) "
    "ON CONFLICT (channel, chat_id) DO UPDATE SET last_at = clock_timestamp() "
    "WHERE send_marks.last_at <= clock_timestamp() - make_interval(secs => :gap) "
    "RETURNING 0"
)
_LEFT = text(
    "SELECT extract(epoch FROM last_at + make_interval(secs => :gap) - clock_timestamp()) "
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
    ) -> None:
        self.workers = workers
        self._sleep = sleep
        self._clock = clock
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

    async def chat_turn(self, channel: str, chat_id: str, gap: float) -> None:
        """Wait until the chat's last send, by any worker, is `gap` seconds old, and take the
        chat's turn (its last send is now)."""
        if self.workers.alone:
            return
        params = {"channel": channel, "chat": chat_id, "gap": gap + SLACK_S}
        while True:
            async with self.workers.sessions() as session, session.begin():
                if (await session.execute(_TURN, params)).first() is not None:
                    return
                left = (await session.execute(_LEFT, params)).scalar()
            await self._sleep(max(float(left or 0.0), 0.001))
