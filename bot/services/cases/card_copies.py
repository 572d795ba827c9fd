"""The copies of a request's card other staff hold: once someone accepts, every other copy
that still offers 签收 is edited in place to say who has it (a copy not sent yet goes out that
way); and a card sent again (returned, escalated, reopened) brings the photos only to whoever
has not had them yet."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import pick_locale, t
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from bot.services.cases import actions
from models import OutboxMessage, OutboxStatus, Person, Request

_LIVE = (OutboxStatus.pending, OutboxStatus.sending, OutboxStatus.sent)


def _offers(payload: dict[str, object], data: str) -> bool:
    rows = payload.get("buttons") or []
    return any(button[1] == data for row in rows for button in row)  # type: ignore[attr-defined]


async def mark_accepted(
    session: AsyncSession, *, request: Request, actor: Person, settings: Settings
) -> None:
    """Edit every other staff member's copy of the card still offering 签收 to name who
    accepted, without buttons."""
    accept = actions.ACCEPT.data(request.id)
    query = (
        select(OutboxMessage, Person.language)
        .join(Person, Person.id == OutboxMessage.person_id)
        .where(
            OutboxMessage.request_id == request.id,
            OutboxMessage.person_id != actor.id,
            OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sent]),
        )
        .order_by(OutboxMessage.id)
    )
    found = (await session.execute(query)).all()
    # A copy edited before (accepted, reopened, accepted again) is not edited twice.
    edited = {(r.chat_id, r.payload.get("edit_message_id")) for r, _ in found}
    for row, language in found:
        if row.payload.get("edit_message_id") or not _offers(row.payload, accept):
            continue
        if (row.chat_id, row.external_message_id) in edited:
            continue
        locale = pick_locale(language, None, settings.locale.default)
        text = f"{row.payload.get('text', '')}\n\n" + t(
            locale, "cards.taken_by", name=actor.display_name or t(locale, "next_steps.colleague")
        )
        if row.status == OutboxStatus.pending:  # not out yet: it goes out as taken
            row.payload = {k: v for k, v in row.payload.items() if k != "buttons"} | {"text": text}
        elif row.external_message_id:
            await enqueue(
                session,
                channel=row.channel,
                chat_id=row.chat_id,
                message=Outgoing(text=text, edit_message_id=row.external_message_id),
                person_id=row.person_id,
                request_id=request.id,
                flush=False,
            )


async def had_album(session: AsyncSession, *, request_id: int) -> set[tuple[str, str]]:
    """The (channel, chat) pairs already sent (or about to be sent) this request's photos."""
    query = select(OutboxMessage.channel, OutboxMessage.chat_id, OutboxMessage.payload).where(
        OutboxMessage.request_id == request_id, OutboxMessage.status.in_(_LIVE)
    )
    return {(c, chat) for c, chat, payload in await session.execute(query) if payload.get("album")}


def album_once(rows: Iterable[OutboxMessage], had: set[tuple[str, str]]) -> None:
    """Leave the photos out of the rows going to chats that had them."""
    for row in rows:
        if row.payload.get("album") and (row.channel, row.chat_id) in had:
            row.payload = {k: v for k, v in row.payload.items() if k != "album"}
