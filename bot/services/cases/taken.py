"""When one of a unit's staff accepts a request, the card the others got changes in place to
say who has it (first press wins; a later press on an old card is still refused by the
workflow). Cards not delivered yet are left alone: they show the request as it is when read."""

from __future__ import annotations

from sqlalchemy import String, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import pick_locale, t
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from bot.services.cases import actions
from models import OutboxMessage, OutboxStatus, Person, Request


async def others_cards(
    session: AsyncSession, *, request: Request, actor: Person, settings: Settings
) -> int:
    """Edit the other staff's delivered Accept cards of `request`; returns how many."""
    accept = actions.ACCEPT.data(request.id)
    query = (
        select(OutboxMessage, Person.language)
        .join(Person, Person.id == OutboxMessage.person_id)
        .where(
            OutboxMessage.request_id == request.id,
            OutboxMessage.person_id != actor.id,
            OutboxMessage.status == OutboxStatus.sent,
            OutboxMessage.external_message_id.is_not(None),
            sql_cast(OutboxMessage.payload, String).contains(accept),
        )
        .order_by(OutboxMessage.id)
    )
    edited = 0
    for row, language in (await session.execute(query)).all():
        buttons = row.payload.get("buttons", []) if isinstance(row.payload, dict) else []
        if not any(data == accept for line in buttons for _label, data in line):
            continue
        locale = pick_locale(language, None, settings.locale.default)
        text = t(locale, "cards.taken_by", reference=request.reference, name=actor.display_name)
        await enqueue(
            session,
            channel=row.channel,
            chat_id=row.chat_id,
            message=Outgoing(text=text, edit_message_id=row.external_message_id),
            person_id=row.person_id,
            request_id=request.id,
            flush=False,
        )
        edited += 1
    await session.flush()
    return edited
