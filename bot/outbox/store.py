"""The outbox table's statements: enqueue, claim, record outcomes, report the backlog.

Row lifecycle (`OutboxStatus`): pending -> sending (claimed) -> sent | pending (retry) | failed |
unreachable; a command menu row still pending when a newer menu for its chat is written is
superseded, and so is a reply to a photo album's photo that a later photo's reply replaces.
While a row is 'sending', `not_before` holds its lease deadline: like a queue's visibility
timeout, the row is invisible to other workers until then, and the exact value doubles as the
claim token, so a worker whose lease ran out cannot overwrite the next owner's outcome.
`leased_by` names the worker holding it: with several workers on PostgreSQL, a row whose
holder's heartbeat stopped (bot.workers) is taken over at once, not after the lease.
Functions here never commit; the sender owns the (short) transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, String, Table, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import exists

from bot.messages import Outgoing
from models import ChannelIdentity, OutboxMessage, OutboxStatus, Worker, utcnow

_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker holds until `lease`; `attempts` includes this one."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int
    urgent: bool
    is_reply: bool
    lease: datetime
    # When (time.monotonic) the chat's turn among the workers was taken for this row in the
    # transaction that wrote it (a reply: bot.outbox.sender `take_reply_turns`), else None.
    turn_at: float | None = None

    @property
    def chat(self) -> tuple[str, str]:
        return (self.channel, self.chat_id)


async def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    message: Outgoing,
    person_id: int | None = None,
    request_id: int | None = None,
    urgent: bool = False,
    is_reply: bool = False,
    not_before: datetime | None = None,
    flush: bool = True,
) -> OutboxMessage:
    """Add one message to the outbox in the caller's transaction: the one way a push is
    written (the engine's replies, on the hot path, are one multi-row INSERT of its own).
    Flushed, so it has an id, unless the caller writes several and flushes once."""
    row = OutboxMessage(
        channel=channel,
        chat_id=chat_id,
        person_id=person_id,
        request_id=request_id,
        payload=message.to_payload(),
        urgent=urgent,
        is_reply=is_reply,
        not_before=not_before,
    )
    session.add(row)
    if flush:
        await session.flush()
    return row


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now)


def _allowed(quiet: bool) -> list[ColumnElement[bool]]:
    # In quiet hours only urgent rows and replies go out, and only they hold up a chat.
    return [or_(OutboxMessage.urgent, OutboxMessage.is_reply)] if quiet else []


def _chat_heads(
    *,
    now: datetime,
    channels: Sequence[str],
    quiet: bool,
    chats: Sequence[tuple[str, str]] | None,
    communities: Sequence[int] | None = None,
) -> Select[int]:
    """Each chat's turn: the id of its earliest row that is sending, due, or awaiting a retry."""
    holds_chat = or_(
        OutboxMessage.status == OutboxStatus.sending,
        and_(
            OutboxMessage.status == OutboxStatus.pending,
            or_(_due(now), OutboxMessage.attempts > 0),
            *_allowed(quiet),
        ),
    )
    heads = (
        select(func.min(OutboxMessage.id))
        .where(holds_chat, OutboxMessage.channel.in_(channels))
        .group_by(OutboxMessage.channel, OutboxMessage.chat_id)
    )
    if chats is not None:
        heads = heads.where(tuple_(OutboxMessage.channel, OutboxMessage.chat_id).in_(chats))
    if communities is not None:
        # A chat's rows all carry its home community: the heads of these communities' chats
        # are found in their shard alone (docs/scaling.md).
        heads = heads.where(OutboxMessage.community_id.in_(communities))
    return heads


def _claimable(now: datetime, quiet: bool, stale_after_s: float | None) -> ColumnElement[bool]:
    """A row that may be taken now: pending and due, or sending with an expired lease or
    (several workers on PostgreSQL: `stale_after_s`) held by a worker whose heartbeat
    stopped, by the database's clock."""
    taken_over = [OutboxMessage.not_before <= now]
    if stale_after_s is not None:
        alive = select(Worker.id).where(
            Worker.id == OutboxMessage.leased_by,
            Worker.heartbeat_at > func.now() - func.make_interval(0, 0, 0, 0, 0, 0, stale_after_s),
        )
        taken_over.append(and_(OutboxMessage.leased_by.is_not(None), ~exists(alive)))
    return or_(
        and_(OutboxMessage.status == OutboxStatus.pending, _due(now), *_allowed(quiet)),
        and_(OutboxMessage.status == OutboxStatus.sending, or_(*taken_over)),
    )


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    lease_until: datetime,
    channels: Sequence[str],
    limit: int,
    quiet: bool,
    chats: Sequence[tuple[str, str]] | None = None,
    max_id: int | None = None,
    worker: str | None = None,
    stale_after_s: float | None = None,
    communities: Sequence[int] | None = None,
) -> list[Claimed]:
    """Claim the first row of up to `limit` chats whose turn it is, and mark them 'sending'
    (held by `worker`).

    A chat's turn goes to its earliest row that is sending, due, or waiting to be retried;
    only when that row is itself claimable (pending and due, or sending with an expired
    lease or a dead holder) is it taken, so a chat never has two rows out at once and never
    skips ahead. With `communities`, only the chats whose home is one of them (one shard's
    work).
    """
    heads = _chat_heads(
        now=now, channels=channels, quiet=quiet, chats=chats, communities=communities
    )
    query = (
        select(
            OutboxMessage.id,
            OutboxMessage.channel,
            OutboxMessage.chat_id,
            OutboxMessage.payload,
            OutboxMessage.attempts,
            OutboxMessage.urgent,
            OutboxMessage.is_reply,
        )
        .where(OutboxMessage.id.in_(heads), _claimable(now, quiet, stale_after_s))
        .order_by(OutboxMessage.id)
        .limit(limit)
        # SQLite renders no FOR UPDATE; its writers are serialised by BEGIN IMMEDIATE.
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    if max_id is not None:
        query = query.where(OutboxMessage.id <= max_id)
    if communities is not None:
        query = query.where(OutboxMessage.community_id.in_(communities))
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([r.id for r in rows]))
        .values(
            status=OutboxStatus.sending,
            not_before=lease_until,
            attempts=OutboxMessage.attempts + 1,
            leased_by=worker,
        )
        .execution_options(**_NO_SYNC)
    )
    return [
        Claimed(
            r.id, r.channel, r.chat_id, r.payload, r.attempts + 1, r.urgent, r.is_reply, lease_until
        )
        for r in rows
    ]


async def defer_quiet(session: AsyncSession, *, until: datetime) -> int:
    """Move pending non-urgent pushes that would go out before `until` to `until`."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.pending,
            OutboxMessage.urgent.is_(False),
            OutboxMessage.is_reply.is_(False),
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before < until),
        )
        .values(not_before=until)
        .execution_options(**_NO_SYNC)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_sent(
    session: AsyncSession, *, sent: Sequence[tuple[int, datetime, str | None]]
) -> None:
    """Record successes as (row id, sent at, channel message id); such rows are never claimed
    again."""
    # No lease check: even if a lease ran out, the message did go, and saying so stops any
    # later attempt.
    await session.execute(
        _MARK_SENT, [{"row_id": row_id, "at": at, "mid": mid} for row_id, at, mid in sent]
    )


# Built once (it runs with nearly every update): an executemany cannot take an IN list, so
# the two statuses are spelt out.
_TABLE = cast(Table, OutboxMessage.__table__)
_MARK_SENT = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("row_id"),
        or_(_TABLE.c.status == OutboxStatus.pending, _TABLE.c.status == OutboxStatus.sending),
    )
    .values(status=OutboxStatus.sent, sent_at=bindparam("at"), external_message_id=bindparam("mid"))
)


async def mark_retry(
    session: AsyncSession,
    *,
    row: Claimed,
    not_before: datetime | None,
    error: str,
    count_attempt: bool = True,
) -> bool:
    """Put a held row back to pending until `not_before`; False if the lease was lost."""
    values: dict[str, Any] = {"status": OutboxStatus.pending, "not_before": not_before}
    if error:
        values["last_error"] = error
    if not count_attempt:
        values["attempts"] = OutboxMessage.attempts - 1
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status == OutboxStatus.sending,
            OutboxMessage.not_before == row.lease,
        )
        .values(**values)
        .execution_options(**_NO_SYNC)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_failed(session: AsyncSession, *, row: Claimed, error: str) -> None:
    """Give up on a held row: the message is bad or retries are exhausted."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status == OutboxStatus.sending,
            OutboxMessage.not_before == row.lease,
        )
        .values(status=OutboxStatus.failed, last_error=error)
        .execution_options(**_NO_SYNC)
    )


async def mark_unreachable(
    session: AsyncSession, *, row: Claimed, now: datetime, error: str
) -> None:
    """The chat is gone or blocked us: stop this row, the chat's waiting rows, and flag the
    identity, so nothing is retried."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]),
        )
        .values(status=OutboxStatus.unreachable, last_error=error)
        .execution_options(**_NO_SYNC)
    )
    await mark_chat_unreachable(
        session,
        channel=row.channel,
        chat_id=row.chat_id,
        now=now,
        error=f"chat unreachable (outbox row {row.id})",
    )


async def mark_chat_unreachable(
    session: AsyncSession, *, channel: str, chat_id: str, now: datetime, error: str
) -> None:
    """The chat blocked us (a 403, or the channel said so): stop its waiting rows and flag
    its identity, so pushes skip it until it is reachable again."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == OutboxStatus.pending,
        )
        .values(status=OutboxStatus.unreachable, last_error=error)
        .execution_options(**_NO_SYNC)
    )
    await session.execute(
        update(ChannelIdentity)
        .where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.chat_id == chat_id,
            ChannelIdentity.unreachable_at.is_(None),
        )
        .values(unreachable_at=now)
        .execution_options(**_NO_SYNC)
    )


async def supersede(session: AsyncSession, row_ids: Sequence[int]) -> int:
    """Rows made pointless by a newer one: those still pending never go out. Returns how many
    were still pending."""
    if not row_ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(row_ids)), OutboxMessage.status == OutboxStatus.pending)
        .values(status=OutboxStatus.superseded)
        .execution_options(**_NO_SYNC)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def supersede_menus(
    session: AsyncSession, *, channel: str, chats: Sequence[str] | None = None
) -> int:
    """Coalesce the channel's waiting command-menu rows (of `chats` only, when given): each
    chat keeps its newest, which says all the older ones did. Returns how many were
    superseded."""
    # A cheap prefilter on the JSON text ('"menu"' appears unescaped only as the payload's
    # key), then the payload itself decides.
    query = (
        select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.payload)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status == OutboxStatus.pending,
            sql_cast(OutboxMessage.payload, String).contains('"menu"'),
        )
        .order_by(OutboxMessage.id.desc())
    )
    if chats is not None:
        query = query.where(OutboxMessage.chat_id.in_(list(chats)))
    newest: set[str] = set()
    stale: list[int] = []
    for row_id, chat_id, payload in await session.execute(query):
        if not isinstance(payload, dict) or payload.get("menu") is None:
            continue
        if chat_id in newest:
            stale.append(row_id)
        newest.add(chat_id)
    for start in range(0, len(stale), 500):
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(stale[start : start + 500]),
                OutboxMessage.status == OutboxStatus.pending,
            )
            .values(status=OutboxStatus.superseded)
            .execution_options(**_NO_SYNC)
        )
    return len(stale)


async def chats_of(session: AsyncSession, *, row_ids: Sequence[int]) -> list[tuple[str, str]]:
    """The distinct (channel, chat_id) pairs of these rows."""
    result = await session.execute(
        select(OutboxMessage.channel, OutboxMessage.chat_id)
        .where(OutboxMessage.id.in_(row_ids))
        .distinct()
    )
    return [(r.channel, r.chat_id) for r in result]


async def backlog(session: AsyncSession, *, now: datetime | None = None) -> dict[str, Any]:
    """Counts per status (pending, sending, failed, unreachable), how many pending rows are
    due, and the age in seconds of the oldest waiting row and of the oldest due row."""
    now = now or utcnow()
    statuses = [
        OutboxStatus.pending,
        OutboxStatus.sending,
        OutboxStatus.failed,
        OutboxStatus.unreachable,
    ]
    counts: dict[str, int] = {status.value: 0 for status in statuses}
    result = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.status.in_(statuses))
        .group_by(OutboxMessage.status)
    )
    for status, count in result:
        counts[str(status)] = int(count)
    waiting = OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending])
    oldest = await session.scalar(select(func.min(OutboxMessage.created_at)).where(waiting))
    due = and_(OutboxMessage.status == OutboxStatus.pending, _due(now))
    due_count, oldest_due = (
        await session.execute(select(func.count(), func.min(OutboxMessage.created_at)).where(due))
    ).one()
    return {
        **counts,
        "due": int(due_count),
        "oldest_age_s": (now - oldest).total_seconds() if oldest else None,
        "oldest_due_age_s": (now - oldest_due).total_seconds() if oldest_due else None,
    }
