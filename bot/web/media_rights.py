"""Who may see an uploaded photo: checked against the database on every fetch.

A photo is never served because someone knows its name. It is served to:
- the reporter of a request it belongs to, and staff whose scope holds that request now;
- the chat whose flow in progress holds it (a report being written: the resident's own photo);
- the admin who wrote a broadcast carrying it, and the chats the broadcast was sent to;
- the chat that sent it, as one of its own messages (bot.web.own), while the file lasts;
- a photo another channel keeps (a Telegram file id; `may_see_remote`), by the same rules
  for the request or task holding it: bot.web.media fetches it through that channel;
- a volunteer task's photo: the volunteer who took it and sent it, the staff member who made
  the task, and staff over the task's unit (a task for a request: its photos are the
  request's too, seen as above).

Followers ("me too") are neighbours: they get the request's status and result as notices, never
its photos. A photo is the reporter's own material (it may show their door, their flat, their
face; erasure deletes it with their words), and the privacy rule is that neighbours never see a
reporter's own words; the same holds for their pictures.
"""

from __future__ import annotations

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.cases import queue
from bot.services.org import scope
from models import (
    Broadcast,
    BroadcastMessage,
    Conversation,
    OutboxMessage,
    Request,
    RequestPhoto,
    VolunteerTask,
    WebOwnMessage,
)


async def _request_photo(
    session: AsyncSession, *, name: str, person_id: int | None, channel: str | None = None
) -> bool:
    if person_id is None:
        return False
    query = select(Request).join(RequestPhoto, RequestPhoto.request_id == Request.id)
    query = query.where(RequestPhoto.file_id == name)
    if channel is not None:
        query = query.where(RequestPhoto.channel == channel)
    for request in await session.scalars(query):
        if request.reporter_id == person_id:
            return True
        if await queue.in_scope(session, person_id=person_id, request=request):
            return True
    return False


async def _flow_photo(session: AsyncSession, *, name: str, channel: str, chat_id: str) -> bool:
    query = select(Conversation.chat_id).where(
        Conversation.channel == channel,
        Conversation.chat_id == chat_id,
        cast(Conversation.data, String).contains(name, autoescape=True),
    )
    return (await session.execute(query)).first() is not None


async def _broadcast_photo(
    session: AsyncSession, *, name: str, person_id: int | None, channel: str, chat_id: str
) -> bool:
    sent = (
        select(Broadcast.id)
        .join(BroadcastMessage, BroadcastMessage.broadcast_id == Broadcast.id)
        .join(OutboxMessage, OutboxMessage.id == BroadcastMessage.outbox_id)
        .where(
            Broadcast.photo == name,
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
        )
    )
    if (await session.execute(sent.limit(1))).first() is not None:
        return True
    if person_id is None:
        return False
    written = select(Broadcast.id).where(Broadcast.photo == name, Broadcast.actor_id == person_id)
    return (await session.execute(written.limit(1))).first() is not None


async def _task_photo(session: AsyncSession, *, name: str, person_id: int | None) -> bool:
    if person_id is None:
        return False
    query = select(VolunteerTask).where(
        cast(VolunteerTask.photos, String).contains(name, autoescape=True)
    )
    for task in await session.scalars(query):
        if name not in (task.photos or []):
            continue
        if person_id in (task.claimed_by_id, task.created_by_id):
            return True
        unit = task.owner_unit_id or task.community_id
        if unit is not None and await scope.holds_role(
            session, person_id=person_id, roles=scope.STAFF_ROLES, unit_id=unit
        ):
            return True
    return False


async def _own_photo(session: AsyncSession, *, name: str, channel: str, chat_id: str) -> bool:
    sent = select(WebOwnMessage.id).where(
        WebOwnMessage.photo == name,
        WebOwnMessage.channel == channel,
        WebOwnMessage.chat_id == chat_id,
    )
    return (await session.execute(sent.limit(1))).first() is not None


async def may_see_upload(
    session: AsyncSession, *, name: str, person_id: int | None, channel: str, chat_id: str
) -> bool:
    """Whether this person, in this chat, may see the uploaded photo `name` now."""
    return (
        await _request_photo(session, name=name, person_id=person_id)
        or await _flow_photo(session, name=name, channel=channel, chat_id=chat_id)
        or await _own_photo(session, name=name, channel=channel, chat_id=chat_id)
        or await _task_photo(session, name=name, person_id=person_id)
        or await _broadcast_photo(
            session, name=name, person_id=person_id, channel=channel, chat_id=chat_id
        )
    )


async def may_see_remote(
    session: AsyncSession, *, origin: str, file_id: str, person_id: int | None
) -> bool:
    """Whether this person may see a photo another channel keeps (a Telegram file id): by
    the same rules as an upload's, for the requests and tasks that hold it."""
    return await _request_photo(
        session, name=file_id, person_id=person_id, channel=origin
    ) or await _task_photo(session, name=file_id, person_id=person_id)
