"""An update's replies: written as outbox rows in the update's own transaction, and, on a
channel that cannot show buttons, remembered by number, so that typing "2" presses the second
button of the last answer.

Photos picked together arrive as one update per photo. A handler that answers each with the
whole picture so far (the report's draft) asks to answer the album once: then each photo's
replies wait a moment (`ALBUM_WAIT`) for the paced sender, and the next photo's replace them
while they are still unsent. Every update is still handled and committed by itself, so a crash
between two photos loses neither: the earlier reply then simply goes out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context
from bot.outbox import store
from bot.outbox.store import Claimed
from models import OutboxMessage, OutboxStatus
from models.sharding import home_community

CHOICES = "_choices"  # scratch data: what each numbered choice of the last answer meant
ALBUM = "_album"  # scratch data: the album answered last and its replies' outbox rows
# How long an album photo's reply waits for the album's next photo (Telegram delivers them
# within a second or so of each other).
ALBUM_WAIT = timedelta(seconds=2)


def remember_choices(ctx: Context) -> None:
    """A channel without buttons answers them by number: remember what each one meant. The
    replies of one turn number their choices on from one message to the next (1-2 on the
    first, 3-5 on the second...), so every number shown is the one that works."""
    choices: list[str] = []
    for message in ctx.replies:
        message.first_choice = len(choices) + 1
        choices += [button.data for row in message.buttons for button in row]
    if choices:
        ctx.update_data(**{CHOICES: choices})


def answer_by_number(ctx: Context) -> None:
    """A typed number naming one of the remembered choices becomes a press of that button."""
    choices = ctx.data.get(CHOICES) or []
    stripped = ctx.incoming.text.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(choices):
        data = str(choices[int(stripped) - 1])
        ctx.incoming = replace(ctx.incoming, kind="button", button_data=data, text="")


async def write(
    session: AsyncSession, ctx: Context, *, lease: timedelta | None, worker: str | None = None
) -> tuple[Claimed, ...]:
    """Write the replies as outbox rows. With a `lease`, the rows are already held by this
    worker (`worker`, its id among the workers), which delivers them itself after the commit
    (no separate claim transaction), and are returned; without one, the paced sender picks
    them up."""
    if not ctx.replies:
        return ()
    incoming = ctx.incoming
    lease_until = ctx.now + lease if lease is not None else None
    payloads = [message.to_payload() for message in ctx.replies]
    ids = await _insert(session, ctx, payloads, held_until=lease_until, worker=worker)
    if lease_until is None:
        return ()
    return tuple(
        Claimed(row_id, incoming.channel, incoming.chat_id, payload, 1, True, True, lease_until)
        for row_id, payload in zip(ids, payloads, strict=True)
    )


async def write_album(session: AsyncSession, ctx: Context) -> None:
    """The replies to one photo of an album: they replace the replies to its earlier photos
    still unsent, and wait `ALBUM_WAIT` for the next one (the paced sender delivers them)."""
    group = ctx.incoming.media_group
    earlier = ctx.data.get(ALBUM)
    if isinstance(earlier, dict) and earlier.get("group") == group:
        await store.supersede(session, [int(row_id) for row_id in earlier.get("rows", [])])
    payloads = [message.to_payload() for message in ctx.replies]
    ids = await _insert(session, ctx, payloads, wait_until=ctx.now + ALBUM_WAIT)
    ctx.update_data(**{ALBUM: {"group": group, "rows": ids}})


async def _insert(
    session: AsyncSession,
    ctx: Context,
    payloads: list[dict[str, Any]],
    *,
    held_until: datetime | None = None,
    wait_until: datetime | None = None,
    worker: str | None = None,
) -> list[int]:
    """One multi-row INSERT ... RETURNING (Core, not the ORM's unit of work: the hot path);
    the rows are held by this worker (`worker`) until `held_until`, or pending until
    `wait_until`."""
    if not payloads:
        return []
    held = held_until is not None
    # The recipient's home community (docs/scaling.md): no query unless the person has a home
    # whose compound this session has not loaded.
    community = await session.run_sync(home_community, ctx.person.compound_id)
    rows = [
        {
            "channel": ctx.incoming.channel,
            "chat_id": ctx.incoming.chat_id,
            "person_id": ctx.person.id,
            "community_id": community,
            "payload": payload,
            "urgent": True,
            "is_reply": True,
            "created_at": ctx.now,
            "status": OutboxStatus.sending if held else OutboxStatus.pending,
            "attempts": 1 if held else 0,
            "not_before": held_until if held else wait_until,
            "leased_by": worker if held else None,
        }
        for payload in payloads
    ]
    return list((await session.execute(_INSERT_REPLIES, rows)).scalars())


# On the table, not the mapped class: an INSERT on a class goes through the ORM's bulk
# persistence, which costs several times the statement itself.
_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT_REPLIES = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)
