"""The conversation engine: one unit of work per update.

Per update: clean it (`cleaning`); drop an update id already handled; lock the chat's
conversation row and load who is writing (`chats`, `identity`); route it to a handler
(`router`); write back the chat's state and the replies as outbox rows (`chats`, `replies`);
commit once; then hand the reply rows to the sender for immediate delivery. A failure either
refuses politely (domain errors), apologises (bugs: logged with the update id, update confirmed
so it is not retried forever), or propagates (an outage, as `outage` tells them apart: nothing
is confirmed and the channel redelivers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.core import chats, identity, replies
from bot.core.cleaning import clean
from bot.core.context import Context
from bot.core.flood import SHUTDOWN_GRACE, Deferred, FloodGate, hold
from bot.core.outage import cause, unavailable
from bot.core.output import OutputChannel
from bot.core.router import Router
from bot.exceptions import UserFacingError
from bot.i18n import Translator, pick_locale
from bot.messages import Incoming
from bot.outbox.store import Claimed
from models import ProcessedUpdate, utcnow

log = logging.getLogger(__name__)


class UpdateCounter(Protocol):
    """Where the engine counts updates by outcome (bot.metrics.Metrics)."""

    def count_update(self, channel: str, status: str) -> None: ...

    def count_error(self, kind: str) -> None: ...


class ReplySender(Protocol):
    """What the engine needs of the outbox sender (bot.outbox.Sender)."""

    worker_id: str

    @property
    def lease(self) -> timedelta: ...

    async def deliver_leased(self, rows: Sequence[Claimed]) -> None: ...

    async def take_reply_turns(
        self, session: AsyncSession, rows: Sequence[Claimed]
    ) -> Sequence[Claimed]: ...


Clock = Callable[[], datetime]
# Called inside an update's transaction once its handler ran (or its refusal was said), before
# the replies are written: a channel's record of what the person sent (the web chat keeps
# the person's own messages for their other tabs and devices).
TurnHook = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ProcessResult:
    status: Literal["handled", "duplicate", "refused", "failed"]
    replies: tuple[Claimed, ...] = ()

    @property
    def outbox_ids(self) -> tuple[int, ...]:
        return tuple(reply.id for reply in self.replies)


class _WindowFull(Exception):
    """The person's flood window had no free slot when their update's transaction began."""


class Engine:
    """Runs updates from any channel through the handlers."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        router: Router,
        outputs: Mapping[str, OutputChannel],
        sender: ReplySender | None = None,
        clock: Clock = utcnow,
        flood: FloodGate | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: UpdateCounter | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.router = router
        self.outputs = outputs
        self.sender = sender
        self.flood = flood or FloodGate(settings.requests.flood_per_minute)
        self.sleep = sleep
        self.metrics = metrics
        self.clock = clock
        self.stopping = asyncio.Event()  # set by `stop_holding` when the process shuts down
        self.grace = SHUTDOWN_GRACE  # held updates due within it are still handled at stop
        self.turn_hooks: list[TurnHook] = []  # see TurnHook; the web app adds its own

    def stop_holding(self) -> None:
        """The process is stopping: held updates that cannot be handled within the grace
        period are given back unconfirmed (Deferred) instead of keeping shutdown waiting."""
        self.stopping.set()

    async def process(self, incoming: Incoming, *, admitted: bool = False) -> ProcessResult:
        """Handle one update exactly once; returns after its effects are committed.
        `admitted`: the channel already booked its flood slot (`FloodGate.try_admit`)."""
        incoming = clean(incoming)
        # Not a person writing (reachability), or booked already: no flood slot, no hold.
        person = incoming.kind != "reachability" and not admitted
        in_turn = person and self.flood.books_in_turn()
        if person and not in_turn:
            await self._admit(incoming)
        try:
            result = await self._guarded(incoming, book=in_turn)
        except _WindowFull:  # nothing done: booked and held outside any transaction
            await self._admit(incoming)
            result = await self._guarded(incoming, book=False)
        if self.metrics is not None:
            self.metrics.count_update(incoming.channel, result.status)
        if result.replies and self.sender is not None:
            await self.sender.deliver_leased(result.replies)
        return result

    async def _admit(self, incoming: Incoming) -> None:
        """Book the update's flood slot, and wait for it when the window is full."""
        wait, warn = await self.flood.book((incoming.channel, incoming.user_id))
        if wait > 0:
            if warn:
                await self._slow_down(incoming)
            await self._hold(incoming, wait)

    async def _guarded(self, incoming: Incoming, *, book: bool) -> ProcessResult:
        """`_handle`, with a refusal or a failure answered in the person's language."""
        try:
            return await self._handle(incoming, book=book)
        except UserFacingError as error:
            if book:  # the slot booked in the turn was rolled back with it
                await self._admit(incoming)
            return await self._answer_only(incoming, error.key, error.params, "refused")
        except _WindowFull:
            raise
        except Exception as error:
            if unavailable(error):
                # Not confirmed: the channel delivers the update again (Telegram redelivers a
                # webhook answered 5xx; polling does not advance the offset).
                if self.metrics is not None:
                    self.metrics.count_error("update_unavailable")
                log.warning(
                    "update %s:%s not handled: database unavailable (%s); not confirmed",
                    incoming.channel,
                    incoming.update_id,
                    cause(error),
                )
                raise
            log.exception("update %s:%s failed", incoming.channel, incoming.update_id)
            if incoming.kind == "reachability":  # nobody to apologise to
                return ProcessResult("failed")
            if book:
                await self._admit(incoming)
            return await self._answer_only(incoming, "core.sorry", {}, "failed")

    async def _hold(self, incoming: Incoming, wait: float) -> None:
        """Wait for the flood limit's slot; raise Deferred when the process stops first and
        the slot is further away than the grace period."""
        if await hold(wait, stopping=self.stopping, grace=self.grace, sleep=self.sleep):
            return
        if self.metrics is not None:
            self.metrics.count_error("update_deferred")
        log.info(
            "update %s:%s held by the flood limit at shutdown; left for redelivery",
            incoming.channel,
            incoming.update_id,
        )
        raise Deferred(f"{incoming.channel}:{incoming.update_id}")

    async def _handle(self, incoming: Incoming, *, book: bool = False) -> ProcessResult:
        async with self.sessions() as session, session.begin():
            key = (incoming.channel, incoming.user_id)
            if book and not await self.flood.try_book_in(session, key):
                raise _WindowFull
            if not await self._claim_update(session, incoming):
                return ProcessResult("duplicate")
            if incoming.kind == "reachability":
                await identity.set_reachability(
                    session, incoming, settings=self.settings, now=self.clock()
                )
                return ProcessResult("handled")
            ctx = await self._context(session, incoming)
            await self.router.dispatch(ctx, by_number=not self._supports_buttons(incoming.channel))
            await self._after_turn(ctx)
            return ProcessResult("handled", await self._finish(session, ctx))

    async def _slow_down(self, incoming: Incoming) -> None:
        """Tell a person sending too fast that their messages are held, not lost."""
        async with self.sessions() as session, session.begin():
            ctx = await self._context(session, incoming)
            ctx.say("core.slow_down")
            rows = await self._finish(session, ctx)
        if rows and self.sender is not None:
            await self.sender.deliver_leased(rows)

    async def _answer_only(
        self, incoming: Incoming, key: str, params: dict[str, object], status: str
    ) -> ProcessResult:
        """Confirm the update and send one catalog message, changing nothing else."""
        async with self.sessions() as session, session.begin():
            if not await self._claim_update(session, incoming):
                return ProcessResult("duplicate")
            ctx = await self._context(session, incoming)
            ctx.say(key, **params)
            await self._after_turn(ctx)
            return ProcessResult(status, await self._finish(session, ctx))  # type: ignore[arg-type]

    async def _claim_update(self, session: AsyncSession, incoming: Incoming) -> bool:
        """Record the update id; False when it was handled before (a redelivery)."""
        stmt = _CLAIM_UPDATE[session.get_bind().dialect.name]
        params = {"channel": incoming.channel, "update_id": incoming.update_id, "at": self.clock()}
        return (await session.execute(stmt, params)).first() is not None

    async def _context(self, session: AsyncSession, incoming: Incoming) -> Context:
        """Lock the chat and load who is writing in it, as the handlers will see them."""
        now = self.clock()
        chat = await chats.lock(session, incoming, now=now)
        person = await identity.person_for(
            session,
            incoming,
            chat=chat.state,
            identity=chat.identity,
            person=chat.person,
            now=now,
        )
        locale = pick_locale(person.language, incoming.language_code, self.settings.locale.default)
        return Context(
            session=session,
            incoming=incoming,
            settings=self.settings,
            now=now,
            conversation=chat.state,
            person=person,
            t=Translator(locale),
        )

    async def _after_turn(self, ctx: Context) -> None:
        for hook in self.turn_hooks:
            await hook(ctx)

    async def _finish(self, session: AsyncSession, ctx: Context) -> tuple[Claimed, ...]:
        """Write back the chat's state and the replies."""
        if not self._supports_buttons(ctx.incoming.channel):
            replies.remember_choices(ctx)
        if ctx.album_reply:  # written unheld: the paced sender delivers it once the album is in
            await replies.write_album(session, ctx)
            await chats.save(session, ctx)
            return ()
        await chats.save(session, ctx)
        if self.sender is None:
            return await replies.write(session, ctx, lease=None)
        rows = await replies.write(
            session, ctx, lease=self.sender.lease, worker=self.sender.worker_id
        )
        return tuple(await self.sender.take_reply_turns(session, rows))

    def _supports_buttons(self, channel: str) -> bool:
        output = self.outputs.get(channel)
        return output is None or output.supports_buttons


_PROCESSED = cast(Table, ProcessedUpdate.__table__)
_CLAIM_UPDATE = {  # by dialect name
    dialect: make_insert(_PROCESSED)
    .values(channel=bindparam("channel"), update_id=bindparam("update_id"), at=bindparam("at"))
    .on_conflict_do_nothing()
    .returning(_PROCESSED.c.update_id)
    for dialect, make_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}

__all__ = ["Engine", "ProcessResult", "TurnHook"]
