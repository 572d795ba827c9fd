"""The conversation engine: one unit of work per update.

Per update: drop an update id already handled; lock the chat's conversation row; load the
person; route to a handler; write the replies as outbox rows; commit once; then hand the reply
rows to the sender for immediate delivery. A failure either refuses politely (domain errors),
apologises (bugs: logged with the update id, update confirmed so it is not retried forever), or
propagates (database unreachable/locked: nothing is confirmed and the channel redelivers).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol, cast

from sqlalchemy import Table, Update, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import buttons
from bot.channels.base import OutputChannel
from bot.config import Settings
from bot.core.cleaning import clean
from bot.core.context import ChatState, Context
from bot.core.flood import SHUTDOWN_GRACE, Deferred, FloodGate, hold
from bot.core.router import Router
from bot.exceptions import UserFacingError
from bot.i18n import Translator, pick_locale
from bot.messages import Incoming, Outgoing
from bot.outbox.store import Claimed, mark_chat_unreachable
from bot.services.org import command_menu
from models import (
    ChannelIdentity,
    Conversation,
    OutboxMessage,
    OutboxStatus,
    Person,
    ProcessedUpdate,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=60)


class UpdateCounter(Protocol):
    """Where the engine counts updates by outcome (bot.metrics.Metrics)."""

    def count_update(self, channel: str, status: str) -> None: ...

    def count_error(self, kind: str) -> None: ...


class ReplySender(Protocol):
    """What the engine needs of the outbox sender (bot.outbox.Sender)."""

    @property
    def lease(self) -> timedelta: ...

    async def deliver_leased(self, rows: Sequence[Claimed]) -> None: ...


Clock = Callable[[], datetime]
# Errors that mean "the database is not available right now": the update must not be confirmed.
# PoolTimeout: no connection came free in time (SQLite has one per process).
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError, PoolTimeout)


@dataclass(frozen=True, slots=True)
class ProcessResult:
    status: Literal["handled", "duplicate", "refused", "failed"]
    replies: tuple[Claimed, ...] = ()

    @property
    def outbox_ids(self) -> tuple[int, ...]:
        return tuple(reply.id for reply in self.replies)


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

    def stop_holding(self) -> None:
        """The process is stopping: held updates that cannot be handled within the grace
        period are given back unconfirmed (Deferred) instead of keeping shutdown waiting."""
        self.stopping.set()

    async def process(self, incoming: Incoming, *, admitted: bool = False) -> ProcessResult:
        """Handle one update exactly once; returns after its effects are committed.
        `admitted`: the channel already booked its flood slot (`FloodGate.try_admit`)."""
        incoming = clean(incoming)
        wait, warn = (0.0, False)
        if incoming.kind != "reachability" and not admitted:  # not a person writing: no hold
            wait, warn = self.flood.admit((incoming.channel, incoming.user_id))
        if wait > 0:
            if warn:
                await self._slow_down(incoming)
            await self._hold(incoming, wait)
        try:
            result = await self._handle(incoming)
        except UserFacingError as error:
            result = await self._answer_only(incoming, error.key, error.params, "refused")
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
                    _cause(error),
                )
                raise
            log.exception("update %s:%s failed", incoming.channel, incoming.update_id)
            if incoming.kind == "reachability":  # nobody to apologise to
                result = ProcessResult("failed")
            else:
                result = await self._answer_only(incoming, "core.sorry", {}, "failed")
        if self.metrics is not None:
            self.metrics.count_update(incoming.channel, result.status)
        if result.replies and self.sender is not None:
            await self.sender.deliver_leased(result.replies)
        return result

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

    async def _handle(self, incoming: Incoming) -> ProcessResult:
        async with self.sessions() as session, session.begin():
            if not await self._claim_update(session, incoming):
                return ProcessResult("duplicate")
            if incoming.kind == "reachability":
                await self._reachability(session, incoming)
                return ProcessResult("handled")
            ctx = await self._context(session, incoming)
            await self._dispatch(ctx)
            return ProcessResult("handled", await self._finish(session, ctx))

    async def _reachability(self, session: AsyncSession, incoming: Incoming) -> None:
        """The person blocked us, or allowed us again, in their own chat: flag or clear their
        identity (pushes skip an unreachable one; its waiting rows stop, as after a 403).
        Allowed again, their chat gets its command menu anew. A stranger changes nothing.
        Waiting rows stopped by a block are not revived: they were news of that moment."""
        identity = (
            await session.execute(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == incoming.channel,
                    ChannelIdentity.external_id == incoming.user_id,
                    ChannelIdentity.chat_id == incoming.chat_id,
                )
            )
        ).scalar_one_or_none()
        if identity is None:
            return
        if not incoming.reachable:
            await mark_chat_unreachable(
                session,
                channel=identity.channel,
                chat_id=identity.chat_id,
                now=self.clock(),
                error="the person blocked the bot",
            )
            return
        if identity.unreachable_at is None:
            return  # nothing was held back from them
        identity.unreachable_at = None
        # Menu changes skipped their chat while it was unreachable: catch up.
        await command_menu.queue_menus(
            session, person_ids=[identity.person_id], settings=self.settings
        )

    async def _slow_down(self, incoming: Incoming) -> None:
        """Tell a person sending too fast that their messages are held, not lost."""
        async with self.sessions() as session, session.begin():
            ctx = await self._context(session, incoming)
            ctx.say("core.slow_down")
            replies = await self._finish(session, ctx)
        if replies and self.sender is not None:
            await self.sender.deliver_leased(replies)

    async def _answer_only(
        self, incoming: Incoming, key: str, params: dict[str, object], status: str
    ) -> ProcessResult:
        """Confirm the update and send one catalog message, changing nothing else."""
        async with self.sessions() as session, session.begin():
            if not await self._claim_update(session, incoming):
                return ProcessResult("duplicate")
            ctx = await self._context(session, incoming)
            ctx.say(key, **params)
            return ProcessResult(status, await self._finish(session, ctx))  # type: ignore[arg-type]

    async def _claim_update(self, session: AsyncSession, incoming: Incoming) -> bool:
        stmt = _CLAIM_UPDATE[_is_postgres(session)]
        params = {"channel": incoming.channel, "update_id": incoming.update_id, "at": self.clock()}
        return (await session.execute(stmt, params)).first() is not None

    async def _context(self, session: AsyncSession, incoming: Incoming) -> Context:
        chat, identity, person = await self._load(session, incoming)
        person = await self._person(session, chat, identity, person, incoming)
        locale = pick_locale(person.language, incoming.language_code, self.settings.locale.default)
        return Context(
            session=session,
            incoming=incoming,
            settings=self.settings,
            now=self.clock(),
            conversation=chat,
            person=person,
            t=Translator(locale),
        )

    async def _load(
        self, session: AsyncSession, incoming: Incoming
    ) -> tuple[ChatState, _Identity | None, Person | None]:
        """The chat's conversation row, locked, with the sender's identity and person: one
        statement on the hot path (a second only for a chat's very first update)."""
        keys = {
            "channel": incoming.channel,
            "chat_id": incoming.chat_id,
            "user_id": incoming.user_id,
        }
        row = (await session.execute(_LOAD, keys)).one_or_none()
        if row is None:
            await session.execute(_INSERT_CHAT[_is_postgres(session)], {**keys, "at": self.clock()})
            row = (await session.execute(_LOAD, keys)).one()
        chat = ChatState(person_id=row.person_id, state=row.state, data=row.data or {})
        identity = (
            None
            if row.identity_id is None
            else _Identity(row.identity_id, row.identity_chat_id, row.unreachable)
        )
        return chat, identity, row.Person

    async def _person(
        self,
        session: AsyncSession,
        chat: ChatState,
        identity: _Identity | None,
        person: Person | None,
        incoming: Incoming,
    ) -> Person:
        """The person writing; a newcomer (or someone who erased their data) gets a new one.

        Their identity's chat is where their own pushes go: their private chat, never a group
        they wrote in (on Telegram a person's private chat has their user id). Writing in it
        makes it reachable again, and moves there an identity first met in a group."""
        own_chat = incoming.user_id if incoming.is_group else incoming.chat_id
        if person is None or person.deleted_at is not None:
            person = Person(display_name=incoming.display_name[:200])
            session.add(person)
            await session.flush()
            if identity is None:
                await session.execute(
                    _INSERT_IDENTITY,
                    {
                        "channel": incoming.channel,
                        "external_id": incoming.user_id,
                        "chat_id": own_chat,
                        "person_id": person.id,
                        "created_at": self.clock(),
                    },
                )
            else:
                await session.execute(
                    _LINK_IDENTITY, {"identity_id": identity.id, "person_id": person.id}
                )
        if (
            identity is not None
            and not incoming.is_group
            and (identity.unreachable or identity.chat_id != own_chat)
        ):
            await session.execute(_OWN_CHAT, {"identity_id": identity.id, "chat_id": own_chat})
        chat.person_id = person.id
        return person

    async def _finish(self, session: AsyncSession, ctx: Context) -> tuple[Claimed, ...]:
        """Write back the chat's state and the replies."""
        incoming = ctx.incoming
        if not self._supports_buttons(incoming.channel):
            # A channel without buttons answers them by number: remember what each one meant.
            choices = [b.data for m in ctx.replies for row in m.buttons for b in row]
            if choices:
                ctx.update_data(_choices=choices)
        values = ctx.conversation.changes()
        if values:  # an update that leaves the chat where it was writes nothing here
            await session.execute(
                _save_chat(frozenset(values)),
                {
                    "chat_channel": incoming.channel,
                    "chat_chat_id": incoming.chat_id,
                    "updated_at": ctx.now,
                    **values,
                },
            )
        return await self._write_replies(session, ctx)

    async def _dispatch(self, ctx: Context) -> None:
        incoming, router = ctx.incoming, self.router
        if incoming.kind == "text" and len(incoming.text) > self.settings.requests.max_text_length:
            if router.too_long is not None:
                await router.too_long(ctx)
            return
        if incoming.kind == "command":
            handler = router.commands.get(incoming.command.lower())
            if handler is None and router.unknown_command is not None:
                handler = router.unknown_command
            if handler is not None:
                await handler(ctx)
            return
        if incoming.kind == "text" and not self._supports_buttons(incoming.channel):
            choice = _numbered_choice(ctx, incoming.text)
            if choice is not None:
                ctx = _as_button(ctx, choice)
        if ctx.incoming.kind == "button":
            data = buttons.decode(ctx.incoming.button_data)
            button_handler = router.buttons.get(data.action) if data else None
            if data is not None and button_handler is not None:
                await button_handler(ctx, data)
            elif router.stale_button is not None:
                await router.stale_button(ctx)
            return
        state_handler = router.states.get(ctx.state)
        if state_handler is not None:
            await state_handler(ctx)
        elif incoming.kind in ("text", "photo", "voice", "location", "contact"):
            if router.default is not None:
                await router.default(ctx)
        elif router.unsupported is not None:
            await router.unsupported(ctx)

    def _supports_buttons(self, channel: str) -> bool:
        output = self.outputs.get(channel)
        return output is None or output.supports_buttons

    async def _write_replies(self, session: AsyncSession, ctx: Context) -> tuple[Claimed, ...]:
        """Write the replies as outbox rows, already held by this worker for `lease` when it
        will deliver them itself after the commit (no separate claim transaction)."""
        if not ctx.replies:
            return ()
        incoming = ctx.incoming
        held = self.sender is not None
        lease_until = ctx.now + (self.sender.lease if self.sender else DEFAULT_LEASE)
        payloads = [message.to_payload() for message in ctx.replies]
        # One multi-row INSERT ... RETURNING (Core, not the ORM's unit of work: the hot path).
        ids = (
            await session.execute(
                _INSERT_REPLIES,
                [
                    {
                        "channel": incoming.channel,
                        "chat_id": incoming.chat_id,
                        "person_id": ctx.person.id,
                        "payload": payload,
                        "urgent": True,
                        "is_reply": True,
                        "created_at": ctx.now,
                        "status": OutboxStatus.sending if held else OutboxStatus.pending,
                        "attempts": 1 if held else 0,
                        "not_before": lease_until if held else None,
                    }
                    for payload in payloads
                ],
            )
        ).scalars()
        if not held:
            return ()
        return tuple(
            Claimed(row_id, incoming.channel, incoming.chat_id, payload, 1, True, True, lease_until)
            for row_id, payload in zip(ids, payloads, strict=True)
        )


@dataclass(frozen=True, slots=True)
class _Identity:
    """The sender's channel identity, as far as the engine needs it."""

    id: int
    chat_id: str
    unreachable: bool


# Built once, so SQLAlchemy computes their cache keys once (they run on every update), and on
# the tables rather than the mapped classes: the ORM's bulk persistence and unit of work cost
# several times the statements themselves. Only the person is an ORM object (handlers edit it).
_CHATS = cast(Table, Conversation.__table__)
_IDENTITIES = cast(Table, ChannelIdentity.__table__)
# The chat's conversation, locked, with the sender's identity and person.
_LOAD = (
    select(
        _CHATS.c.person_id,
        _CHATS.c.state,
        _CHATS.c.data,
        _IDENTITIES.c.id.label("identity_id"),
        _IDENTITIES.c.chat_id.label("identity_chat_id"),
        (_IDENTITIES.c.unreachable_at.is_not(None)).label("unreachable"),
        Person,
    )
    .select_from(_CHATS)
    .outerjoin(
        _IDENTITIES,
        (_IDENTITIES.c.channel == _CHATS.c.channel)
        & (_IDENTITIES.c.external_id == bindparam("user_id")),
    )
    .outerjoin(Person, Person.id == _IDENTITIES.c.person_id)
    .where(_CHATS.c.channel == bindparam("channel"), _CHATS.c.chat_id == bindparam("chat_id"))
    .with_for_update(of=_CHATS)
)
_INSERT_CHAT = {
    dialect_is_pg: make_insert(_CHATS)
    .values(
        channel=bindparam("channel"),
        chat_id=bindparam("chat_id"),
        state="",
        data={},
        updated_at=bindparam("at"),
    )
    .on_conflict_do_nothing()
    for dialect_is_pg, make_insert in ((True, pg_insert), (False, sqlite_insert))
}
_INSERT_IDENTITY = insert(_IDENTITIES)
_LINK_IDENTITY = (
    update(_IDENTITIES)
    .where(_IDENTITIES.c.id == bindparam("identity_id"))
    .values(person_id=bindparam("person_id"))
)
_OWN_CHAT = (  # the person wrote in their own chat: pushes go there, and it is reachable
    update(_IDENTITIES)
    .where(_IDENTITIES.c.id == bindparam("identity_id"))
    .values(chat_id=bindparam("chat_id"), unreachable_at=None)
)


@functools.cache
def _save_chat(columns: frozenset[str]) -> Update:
    """UPDATE of the chat's row: the columns that changed, and when."""
    return (
        update(_CHATS)
        .where(
            _CHATS.c.channel == bindparam("chat_channel"),
            _CHATS.c.chat_id == bindparam("chat_chat_id"),
        )
        .values(
            {
                name: bindparam(name, type_=_CHATS.c[name].type)
                for name in ("updated_at", *sorted(columns))
            }
        )
    )


# On the tables, not the mapped classes: an INSERT on a class goes through the ORM's bulk
# persistence, which costs several times the statement itself.
_OUTBOX = cast(Table, OutboxMessage.__table__)
_PROCESSED = cast(Table, ProcessedUpdate.__table__)
_INSERT_REPLIES = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)
_CLAIM_UPDATE = {
    dialect_is_pg: make_insert(_PROCESSED)
    .values(channel=bindparam("channel"), update_id=bindparam("update_id"), at=bindparam("at"))
    .on_conflict_do_nothing()
    .returning(_PROCESSED.c.update_id)
    for dialect_is_pg, make_insert in ((True, pg_insert), (False, sqlite_insert))
}


# SQLite result codes (primary codes) of a database that cannot take a write just now: busy or
# locked by another connection, disk full, read-only, I/O error, file not openable. Any other
# SQLite OperationalError (SQLITE_ERROR: no such table, syntax...) is a bug, not an outage.
_SQLITE_RETRY = frozenset({5, 6, 8, 10, 13, 14, 15})


# PostgreSQL SQLSTATEs of a database that cannot take this work just now: connection
# exceptions (08), transaction rollbacks: serialization failure, deadlock (40), insufficient
# resources: disk full, too many connections (53), operator intervention: shutting down,
# restarting (57P), and a lock not available in time (55P03). Anything else is a bug.
_PG_RETRY_CLASSES = ("08", "40", "53", "57P")
_PG_RETRY = frozenset({"55P03"})


def unavailable(error: BaseException) -> bool:
    """The database cannot be reached (locked, full, restarting, connection cut): try again
    later. Data errors and bugs are not: retrying them would fail forever. An update held
    at shutdown (Deferred) comes again too."""
    if isinstance(error, Deferred):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError) and isinstance(error.orig, sqlite3.Error):
        code = getattr(error.orig, "sqlite_errorcode", None) or 0
        return (code & 0xFF) in _SQLITE_RETRY  # the primary code of an extended one
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if isinstance(error, DBAPIError) and isinstance(sqlstate, str):
        return sqlstate.startswith(_PG_RETRY_CLASSES) or sqlstate in _PG_RETRY
    return isinstance(error, TRANSIENT_ERRORS)


def _cause(error: BaseException) -> str:
    """The driver's own words for an outage, for one log line (no statement, no parameters):
    "database is locked [SQLITE_BUSY]", "...: canceling statement due to lock timeout [55P03]"."""
    orig = error.orig if isinstance(error, DBAPIError) else None
    if isinstance(orig, sqlite3.Error) and getattr(orig, "sqlite_errorname", None):
        return f"{orig} [{orig.sqlite_errorname}]"
    lines = str(orig or error).strip().splitlines()
    sqlstate = getattr(orig, "sqlstate", None)
    code = f" [{sqlstate}]" if isinstance(sqlstate, str) else ""
    return f"{type(error).__name__}: {lines[0] if lines else ''}{code}"[:200]


def _numbered_choice(ctx: Context, text: str) -> str | None:
    choices = ctx.data.get("_choices") or []
    stripped = text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(choices):
        return str(choices[int(stripped) - 1])
    return None


def _as_button(ctx: Context, data: str) -> Context:
    ctx.incoming = replace(ctx.incoming, kind="button", button_data=data, text="")
    return ctx


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


__all__ = ["Engine", "Outgoing", "ProcessResult"]
