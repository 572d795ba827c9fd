"""The paced sender: claims due outbox rows and delivers them through the output channels."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import OutboxSettings
from bot.core.output import OutputChannel, SendResult
from bot.messages import Outgoing
from bot.outbox import store
from bot.outbox.limits import (
    ChatLimits,
    Gate,
    Limits,
    Windows,
    channel_windows,
    chat_gap,
    delivery_cost,
)
from bot.outbox.marks import Mark, ReplyMarks
from bot.outbox.quiet import QuietHours
from bot.outbox.shared import SharedBudget
from bot.outbox.store import Claimed
from models import utcnow

log = logging.getLogger(__name__)

_SECRETS = [
    # Telegram puts the token in the URL path: https://api.telegram.org/bot<token>/sendMessage
    (re.compile(r"bot\d+:[A-Za-z0-9_-]+"), "bot<redacted>"),
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}"), "<redacted>"),
    (
        re.compile(
            r"(?i)(token|secret|password|passwd|api[_-]?key|authorization)([\"'\s:=]+)"
            r"(bearer\s+)?[^\s&\"',;]+"
        ),
        r"\1\2<redacted>",
    ),
]
MAX_ERROR_LENGTH = 500
# Transient failures (5xx, timeouts, a dropped connection) are retried with backoff capped at
# five minutes: 300 attempts ride out about a day of a vendor outage before a row is given up.
# A 429 never counts: it says when to come back.
MAX_ATTEMPTS = 300
# A row whose channel may not write until the person writes: woken by the channel then.
WAIT_FOR_PERSON = timedelta(days=30)
MENU_PRIORITY = 3  # after replies (0), urgent pushes (1) and the rest (2)
# A reply's chat turn taken in its update's transaction is used when the reply goes out within
# this many seconds of it (the others count the turn from when it was taken, so the chat's
# next message from another worker may come this much closer than the pace): else it asks again.
TURN_HELD_S = 0.25
# Reply successes recorded together once this many wait (or after `record_delay`).
RECORD_BATCH = 4


class Fenced(Exception):
    """This worker's heartbeat is so late that the others may count it dead and take its rows
    over (bot.workers `fresh`): it sends nothing until it beats again, and leaves its rows as
    they are (taken over, or taken again once their lease runs out)."""


def clean_error(text: str) -> str:
    """An error text safe to store and log: known secret shapes removed, length capped."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text[:MAX_ERROR_LENGTH]


def telegram_style_group(channel: str, chat_id: str) -> bool:
    """Group chats have negative ids on Telegram; other channels use no negative ids."""
    return chat_id.startswith("-")


class Sender:
    """Delivers outbox rows: at once for replies (`deliver_now`), paced for the rest (`run`).

    Every limit comes from `limits` (default: the settings), with no cap, so benchmarks may
    raise them. `clock` and `sleep` are injectable so tests never wait for real.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, OutputChannel],
        settings: OutboxSettings,
        tz: tzinfo,
        clock: Callable[[], datetime] = utcnow,
        worker_id: str = "",
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        limits: Limits | None = None,
        lease: float = 60.0,
        poll_interval: float = 1.0,
        max_in_flight: int | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        rng: random.Random | None = None,
        is_group: Callable[[str, str], bool] = telegram_style_group,
        record_delay: float | None = None,
        record_batch: int = RECORD_BATCH,
        shared: SharedBudget | None = None,
    ) -> None:
        self._sessions = sessions
        self._channels = dict(channels)
        self._clock = clock
        self.worker_id = worker_id
        self._sleep = sleep
        self.limits = limits or Limits.from_settings(settings)
        self._quiet = QuietHours(settings.quiet_start, settings.quiet_end, tz)
        self._lease = timedelta(seconds=lease)
        # Hand a row back instead of sending it when its lease is this close to running out.
        self._lease_margin = timedelta(seconds=lease / 4)
        self._poll_interval = poll_interval
        self._max_in_flight = max_in_flight or min(1000, max(10, int(self.limits.global_rate * 2)))
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._is_group = is_group
        seconds = self._seconds
        self._gate = Gate(self.limits.global_rate, self.limits.global_burst, seconds, sleep)
        # Besides the buckets, the windows a channel keeps per chat (WeCom's per member).
        self._windows = channel_windows(channels)
        self._chat_limits = ChatLimits(self.limits, seconds, sleep, self._windows)
        self._throttled: dict[tuple[str, str], float] = {}
        # One transaction at a time per sender: SQLite has one writer anyway, and a test's
        # session factory shares a single connection.
        self._db_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._sent: list[tuple[int, datetime, str | None]] = []
        # Reply successes waiting to be recorded together (see `deliver_leased`); None: at once.
        self._record_delay = record_delay
        self._marks = ReplyMarks(
            self._mark_sent,
            delay=record_delay or 0.0,
            batch=record_batch,
            describe=lambda exc: clean_error(f"{type(exc).__name__}: {exc}"),
        )
        # Several workers on one PostgreSQL database: the budget they share (bot.outbox.shared).
        self._shared = shared

    def _seconds(self) -> float:
        return self._clock().timestamp()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._db_lock, self._sessions() as session, session.begin():
            yield session

    async def deliver_now(self, row_ids: Sequence[int]) -> None:
        """Deliver these committed rows at once (after any earlier rows of the same chats)."""
        if not row_ids:
            return
        async with self._transaction() as session:
            chats = await store.chats_of(session, row_ids=row_ids)
        chats = [chat for chat in chats if chat[0] in self._channels]
        max_id = max(row_ids)
        while chats:
            rows = await self._claim(limit=len(chats), chats=chats, max_id=max_id)
            if not rows:
                return
            async with asyncio.TaskGroup() as group:
                for row in rows:
                    group.create_task(self._deliver(row))

    @property
    def lease(self) -> timedelta:
        """How long a claimed row stays invisible to other workers."""
        return self._lease

    async def deliver_leased(self, rows: Sequence[Claimed]) -> None:
        """Deliver rows their writer already holds (replies written as 'sending' with a lease
        in the update's own transaction), in order, recording the successes together.

        This is the reply path: no claim transaction, one transaction to record. A row whose
        send fails goes back to 'pending' through the usual retry bookkeeping, and a row
        whose worker died mid-way is taken again by `run` when its lease runs out.
        """
        sent: list[tuple[int, datetime, str | None]] = []
        held_back: set[tuple[str, str]] = set()  # chats whose turn did not come in time
        for row in rows:
            if row.channel not in self._channels:
                continue
            group = self._is_group(*row.chat)
            if row.chat in held_back:
                await self._hand_back(row, after=None)  # behind the chat's row handed back
                continue
            try:
                if self._limited(row.channel):
                    result = await self._send_reply(row, group=group)
                    if result is None:
                        held_back.add(row.chat)
                        continue
                else:
                    result = await self._send(row)
            except Fenced:
                log.warning(
                    "outbox %s: heartbeat late; replies left to be taken over", self.worker_id
                )
                break
            if result.ok:
                sent.append((row.id, self._clock(), result.message_id))
            else:
                await self._record(row, result, group=group)
        if not sent:
            return
        if self._record_delay is None:
            await self._mark_sent(sent)
        else:
            self._marks.add(sent)

    async def _send_reply(self, row: Claimed, *, group: bool) -> SendResult | None:
        """Send a reply within the limits, ahead of other sends; None when the chat's turn
        would outlast the row's lease (handed back)."""
        cost = delivery_cost(self._channels[row.channel], row.payload)
        await self._chat_limits.wait(row.chat, is_group=group, cost=cost)
        await self._gate.acquire(0)
        self._chat_limits.take(row.chat, is_group=group, cost=cost)
        try:
            held = row.turn_at is not None and time.monotonic() - row.turn_at <= TURN_HELD_S
            left = 0.0 if held else await self._chat_turn(row, group=group, cost=cost)
            result = None if left else await self._send(row)
        finally:
            self._gate.done()
        if result is None:
            await self._hand_back(row, after=left)
        return result

    async def take_reply_turns(
        self, session: AsyncSession, rows: Sequence[Claimed]
    ) -> list[Claimed]:
        """In the transaction writing the replies (their update's): the first reply of each
        chat takes the chat's turn among the workers when it is free, one statement in a
        transaction already paid for; `deliver_leased` then sends it without a turn
        transaction of its own, if it goes out within `TURN_HELD_S` (else it asks again)."""
        if self._shared is None or self._shared.workers.alone:
            return list(rows)
        taken: set[tuple[str, str]] = set()
        out: list[Claimed] = []
        for row in rows:
            if row.chat not in taken and row.channel in self._channels:
                taken.add(row.chat)
                if self._limited(row.channel) and await self._take_turn_in(session, row):
                    row = replace(row, turn_at=time.monotonic())
            out.append(row)
        return out

    async def _take_turn_in(self, session: AsyncSession, row: Claimed) -> bool:
        assert self._shared is not None
        gap, windows = self._pace(row, group=self._is_group(*row.chat))
        cost = delivery_cost(self._channels[row.channel], row.payload)
        return await self._shared.take_turn_in(
            session, row.channel, row.chat_id, gap, windows=windows, cost=cost
        )

    def _pace(self, row: Claimed, *, group: bool) -> tuple[float, Windows]:
        """The gap between two sends to the row's chat, and the windows its channel keeps."""
        gap = chat_gap(self.limits, self._channels[row.channel], group=group)
        return gap, self._windows.get(row.channel, ())

    async def flush_reply_marks(self) -> bool:
        """Record every reply success still waiting; False when the database refused."""
        return await self._marks.flush()

    async def _mark_sent(self, marks: list[Mark]) -> None:
        async with self._transaction() as session:
            await store.mark_sent(session, sent=marks)

    async def _chat_turn(self, row: Claimed, *, group: bool, cost: int) -> float:
        """With other workers: wait for the chat's turn among all of them (its pace and its
        windows) and take it: 0. Not taken when that would outlast the row's lease (another
        worker could take the row over meanwhile): the seconds still to wait."""
        if self._shared is None:
            return 0.0
        within = (row.lease - self._lease_margin - self._clock()).total_seconds()
        gap, windows = self._pace(row, group=group)
        return await self._shared.chat_turn(
            row.channel, row.chat_id, gap, windows=windows, cost=cost, within=within
        )

    async def _hand_back(self, row: Claimed, *, after: float | None) -> None:
        """Give a row back unsent, for any worker to take once `after` seconds have passed."""
        not_before = None if after is None else self._clock() + timedelta(seconds=after)
        async with self._transaction() as session:
            await store.mark_retry(
                session, row=row, not_before=not_before, error="", count_attempt=False
            )

    async def _follow_share(self) -> None:
        """With other workers: keep to this worker's share of the bot-wide limit."""
        if self._shared is not None:
            await self._shared.keep_share(self._gate, self.limits)

    def _limited(self, channel: str) -> bool:
        """Whether a channel's vendor limits apply (a channel of our own has none)."""
        return getattr(self._channels[channel], "rate_limited", True)

    async def _send(self, row: Claimed) -> SendResult:
        if self._shared is not None and not self._shared.workers.fresh():
            raise Fenced
        try:
            return await self._channels[row.channel].send(
                row.chat_id, Outgoing.from_payload(row.payload)
            )
        except Exception as exc:
            # Channels report vendor errors in SendResult; anything raised (a timeout, a
            # dropped connection) is treated as a transient error.
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")

    def deliver_soon(self, row_ids: Sequence[int]) -> asyncio.Task[None]:
        """`deliver_now` in a background task, for callers that must not wait on pacing."""
        task = asyncio.create_task(self.deliver_now(row_ids))
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error(
                "outbox %s: immediate delivery failed: %s",
                self.worker_id,
                clean_error(f"{type(exc).__name__}: {exc}"),
            )

    async def pump(self) -> int:
        """One round of the paced loop, run to completion; returns how many rows it took."""
        rows = await self._claim(limit=self._max_in_flight)
        async with asyncio.TaskGroup() as group:
            for row in rows:
                group.create_task(self._deliver(row))
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due rows until `stop` is set, keeping up to `max_in_flight` rows out."""
        in_flight: set[asyncio.Task[None]] = set()
        stopped = asyncio.ensure_future(stop.wait())
        last_prune = self._seconds()
        try:
            while not stop.is_set():
                await self._follow_share()
                room = self._max_in_flight - len(in_flight)
                # Claim in batches, not one row per finished send: each claim scans the backlog.
                if room * 2 >= self._max_in_flight:
                    try:
                        rows = await self._claim(limit=room)
                    except Exception as exc:
                        log.error(
                            "outbox %s: claim failed: %s",
                            self.worker_id,
                            clean_error(f"{type(exc).__name__}: {exc}"),
                        )
                        rows = []
                    in_flight.update(asyncio.create_task(self._deliver(row)) for row in rows)
                if self._seconds() - last_prune > 60:
                    self._chat_limits.forget_idle()
                    last_prune = self._seconds()
                timer = asyncio.ensure_future(self._sleep(self._poll_interval))
                done, _ = await asyncio.wait(
                    {*in_flight, stopped, timer}, return_when=asyncio.FIRST_COMPLETED
                )
                timer.cancel()
                for task in done & in_flight:
                    in_flight.discard(task)
                    failure = None if task.cancelled() else task.exception()
                    if failure is not None:
                        # The row stays 'sending' and is taken again when its lease runs out.
                        log.error(
                            "outbox %s: delivery failed: %s",
                            self.worker_id,
                            clean_error(f"{type(failure).__name__}: {failure}"),
                        )
        finally:
            stopped.cancel()
            if in_flight or self._background:
                await asyncio.gather(*in_flight, *self._background, return_exceptions=True)
            await self.flush_reply_marks()

    async def _claim(
        self,
        *,
        limit: int,
        chats: Sequence[tuple[str, str]] | None = None,
        max_id: int | None = None,
    ) -> list[Claimed]:
        now = self._clock()
        quiet = self._quiet.is_quiet(now)
        async with self._transaction() as session:
            if quiet and chats is None:
                await store.defer_quiet(session, until=self._quiet.ends_at(now))
            return await store.claim(
                session,
                now=now,
                lease_until=now + self._lease,
                channels=list(self._channels),
                limit=limit,
                quiet=quiet,
                chats=chats,
                max_id=max_id,
                worker=self.worker_id or None,
                stale_after_s=self._shared.workers.stale_after_s if self._shared else None,
            )

    async def _deliver(self, row: Claimed) -> None:
        try:
            await self._deliver_paced(row)
        except Fenced:
            log.warning(
                "outbox %s: heartbeat late; row %s left to be taken over", self.worker_id, row.id
            )

    async def _deliver_paced(self, row: Claimed) -> None:
        group = self._is_group(*row.chat)
        # A command menu is no message in the chat: it takes none of the chat's budget (a
        # reply right after a restart's menus goes at once) and yields the bot-wide one.
        menu = "menu" in row.payload
        priority = 0 if row.is_reply else MENU_PRIORITY if menu else 1 if row.urgent else 2
        limited = self._limited(row.channel)
        if not limited:
            await self._record(row, await self._send(row), group=group)
            return
        cost = 0 if menu else delivery_cost(self._channels[row.channel], row.payload)
        if not menu:
            await self._chat_limits.wait(row.chat, is_group=group, cost=cost)
        await self._gate.acquire(priority)
        if self._clock() >= row.lease - self._lease_margin:
            # Waited so long that another worker may take the row over: hand it back unsent.
            self._gate.done()
            await self._hand_back(row, after=None)
            return
        if not menu:
            self._chat_limits.take(row.chat, is_group=group, cost=cost)
        try:
            left = 0.0 if menu else await self._chat_turn(row, group=group, cost=cost)
            result = None if left else await self._send(row)
        finally:
            self._gate.done()
        if result is None:
            await self._hand_back(row, after=left)
            return
        await self._record(row, result, group=group)

    async def _record(self, row: Claimed, result: SendResult, *, group: bool) -> None:
        now = self._clock()
        if result.ok:
            await self._record_sent(row.id, now, result.message_id)
            return
        error = clean_error(result.error)
        async with self._transaction() as session:
            if result.unreachable:
                await store.mark_unreachable(session, row=row, now=now, error=error)
            elif result.retry_after is not None:
                wait = max(0.0, result.retry_after)
                self._throttle(row.chat, wait, group=group)
                note = clean_error(f"retry after {wait:g}s: {result.error}")
                await store.mark_retry(
                    session, row=row, not_before=now + timedelta(seconds=wait), error=note
                )
            elif result.permanent:
                await store.mark_failed(session, row=row, error=error)
            elif result.wait_for_person:
                await store.mark_retry(
                    session, row=row, not_before=now + WAIT_FOR_PERSON, error=error
                )
            elif row.attempts >= self._max_attempts:
                note = clean_error(f"gave up after {row.attempts} attempts: {result.error}")
                await store.mark_failed(session, row=row, error=note)
            else:
                retry_at = now + timedelta(seconds=self._backoff(row.attempts))
                await store.mark_retry(session, row=row, not_before=retry_at, error=error)
        log.warning("outbox %s: row %s to %s: %s", self.worker_id, row.id, row.channel, error)

    async def _record_sent(self, row_id: int, at: datetime, message_id: str | None) -> None:
        """Record a success; successes waiting for the database go in one transaction."""
        self._sent.append((row_id, at, message_id))
        async with self._db_lock:
            if not self._sent:
                return  # another task's transaction recorded this one too
            batch, self._sent = self._sent, []
            async with self._sessions() as session, session.begin():
                await store.mark_sent(session, sent=batch)

    def _throttle(self, chat: tuple[str, str], wait: float, *, group: bool) -> None:
        """Pause the chat; when a second chat is throttled while the first still is, the
        limit hit is the bot-wide one (SendResult does not say), so pause everything."""
        now = self._seconds()
        self._chat_limits.pause(chat, wait, is_group=group)
        self._throttled = {k: until for k, until in self._throttled.items() if until > now}
        if any(key != chat for key in self._throttled):
            self._gate.bucket.pause(now, wait)
        self._throttled[chat] = now + wait

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: half to all of base * 2^(attempts-1), capped."""
        delay = min(self._backoff_cap, self._backoff_base * 2 ** max(0, attempts - 1))
        return delay * self._rng.uniform(0.5, 1.0)
