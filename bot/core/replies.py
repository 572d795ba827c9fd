"""An update's replies: written as outbox rows in the update's own transaction, and, on a
channel that cannot show buttons, remembered by number, so that typing "2" presses the second
button of the last answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context
from bot.outbox.store import Claimed
from models import OutboxMessage, OutboxStatus
from models.sharding import home_community

CHOICES = "_choices"  # scratch data: what each numbered choice of the last answer meant


def remember_choices(ctx: Context) -> None:
    """A channel without buttons answers them by number: remember what each one meant."""
    choices = [b.data for m in ctx.replies for row in m.buttons for b in row]
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
    session: AsyncSession, ctx: Context, *, lease: timedelta | None
) -> tuple[Claimed, ...]:
    """Write the replies as outbox rows. With a `lease`, the rows are already held by this
    worker, which delivers them itself after the commit (no separate claim transaction), and
    are returned; without one, the paced sender picks them up."""
    if not ctx.replies:
        return ()
    incoming = ctx.incoming
    held = lease is not None
    lease_until = ctx.now + lease if lease is not None else None
    payloads = [message.to_payload() for message in ctx.replies]
    # The recipient's home community (docs/scaling.md): no query unless the person has a home
    # whose compound this session has not loaded.
    community = await session.run_sync(home_community, ctx.person.compound_id)
    # One multi-row INSERT ... RETURNING (Core, not the ORM's unit of work: the hot path).
    ids = (
        await session.execute(
            _INSERT_REPLIES,
            [
                {
                    "channel": incoming.channel,
                    "chat_id": incoming.chat_id,
                    "person_id": ctx.person.id,
                    "community_id": community,
                    "payload": payload,
                    "urgent": True,
                    "is_reply": True,
                    "created_at": ctx.now,
                    "status": OutboxStatus.sending if held else OutboxStatus.pending,
                    "attempts": 1 if held else 0,
                    "not_before": lease_until,
                }
                for payload in payloads
            ],
        )
    ).scalars()
    if lease_until is None:
        return ()
    return tuple(
        Claimed(row_id, incoming.channel, incoming.chat_id, payload, 1, True, True, lease_until)
        for row_id, payload in zip(ids, payloads, strict=True)
    )


# On the table, not the mapped class: an INSERT on a class goes through the ORM's bulk
# persistence, which costs several times the statement itself.
_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT_REPLIES = insert(_OUTBOX).returning(_OUTBOX.c.id, sort_by_parameter_order=True)
