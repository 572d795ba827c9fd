"""A chat's conversation row: locked and read for an update together with the sender's
identity and person (one statement on the hot path), and written back with only what the
update changed."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, Update, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import ChatState, Context
from bot.core.identity import KnownIdentity
from bot.messages import Incoming
from models import ChannelIdentity, Conversation, Person


@dataclass(frozen=True, slots=True)
class LockedChat:
    """The chat's state, locked until the update commits, and who is writing in it."""

    state: ChatState
    identity: KnownIdentity | None
    person: Person | None


async def lock(session: AsyncSession, incoming: Incoming, *, now: datetime) -> LockedChat:
    """The chat's conversation row, locked, with the sender's identity and person: one
    statement on the hot path (a second only for a chat's very first update)."""
    keys = {
        "channel": incoming.channel,
        "chat_id": incoming.chat_id,
        "user_id": incoming.user_id,
    }
    row = (await session.execute(_LOAD, keys)).one_or_none()
    if row is None:
        insert_chat = _INSERT_CHAT[session.get_bind().dialect.name]
        await session.execute(insert_chat, {**keys, "at": now})
        row = (await session.execute(_LOAD, keys)).one()
    identity = (
        None
        if row.identity_id is None
        else KnownIdentity(row.identity_id, row.identity_chat_id, row.unreachable)
    )
    state = ChatState(person_id=row.person_id, state=row.state, data=row.data or {})
    return LockedChat(state, identity, row.Person)


async def save(session: AsyncSession, ctx: Context) -> None:
    """Write back the chat's state; an update that leaves the chat where it was writes nothing."""
    values = ctx.conversation.changes()
    if values:
        await session.execute(
            _save_chat(frozenset(values)),
            {
                "chat_channel": ctx.incoming.channel,
                "chat_chat_id": ctx.incoming.chat_id,
                "updated_at": ctx.now,
                **values,
            },
        )


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
_INSERT_CHAT = {  # by dialect name
    dialect: make_insert(_CHATS)
    .values(
        channel=bindparam("channel"),
        chat_id=bindparam("chat_id"),
        state="",
        data={},
        updated_at=bindparam("at"),
    )
    .on_conflict_do_nothing()
    for dialect, make_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


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
