"""Who is writing, and whether they can be reached.

A newcomer (or someone who erased their data) gets a person and a channel identity. The
identity's chat is where their own pushes go: their private chat, never a group they wrote in.
A block flags the identity unreachable (its waiting pushes stop); writing again or unblocking
clears the flag, and an unblock catches up the command menu their chat missed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.core.context import ChatState
from bot.messages import Incoming
from bot.outbox.store import mark_chat_unreachable
from bot.services.org import command_menu
from models import ChannelIdentity, Person


@dataclass(frozen=True, slots=True)
class KnownIdentity:
    """The sender's channel identity, as far as the engine needs it."""

    id: int
    chat_id: str
    unreachable: bool


async def person_for(
    session: AsyncSession,
    incoming: Incoming,
    *,
    chat: ChatState,
    identity: KnownIdentity | None,
    person: Person | None,
    now: datetime,
) -> Person:
    """The person writing; a newcomer (or someone who erased their data) gets a new one.

    Their identity's chat is where their own pushes go: their private chat, never a group
    they wrote in (on Telegram a person's private chat has their user id). Writing in it
    makes it reachable again, and moves there an identity first met in a group."""
    own_chat = incoming.user_id if incoming.is_group else incoming.chat_id
    if person is None or person.deleted_at is not None:
        person = await _new_person(session, incoming, identity, own_chat=own_chat, now=now)
    if (
        identity is not None
        and not incoming.is_group
        and (identity.unreachable or identity.chat_id != own_chat)
    ):
        await session.execute(_OWN_CHAT, {"identity_id": identity.id, "chat_id": own_chat})
    chat.person_id = person.id
    return person


async def _new_person(
    session: AsyncSession,
    incoming: Incoming,
    identity: KnownIdentity | None,
    *,
    own_chat: str,
    now: datetime,
) -> Person:
    """A new person, with the sender's identity created or linked to them."""
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
                "created_at": now,
            },
        )
    else:
        await session.execute(_LINK_IDENTITY, {"identity_id": identity.id, "person_id": person.id})
    return person


async def set_reachability(
    session: AsyncSession, incoming: Incoming, *, settings: Settings, now: datetime
) -> None:
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
            now=now,
            error="the person blocked the bot",
        )
        return
    if identity.unreachable_at is None:
        return  # nothing was held back from them
    identity.unreachable_at = None
    # Menu changes skipped their chat while it was unreachable: catch up.
    await command_menu.queue_menus(session, person_ids=[identity.person_id], settings=settings)


# On the table, not the mapped class: the ORM's bulk persistence costs several times the
# statement itself, and these run on a newcomer's first update.
_IDENTITIES = cast(Table, ChannelIdentity.__table__)
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
