"""The person's own messages in the web chat, kept on the server: every open tab and device of
the same identity shows them, in order with the bot's messages, live and after a reload.

`record` is an engine turn hook (bot.core.engine.TurnHook): it runs inside the update's
transaction after the handler, so the message and the replies to it commit together and the
message sorts before them (`after_id`: the chat's newest outbox row when it was sent). A
retried POST is one update (the engine drops the second), so it is kept once. A photo is kept
only if the conversation took it (a refused upload is not shown as sent, not after a reload
either); the automatic commands the page sends itself (`quiet`) are not shown at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.webchat import CHANNELS, VISIBLE
from bot.config import Settings
from bot.core.context import Context
from bot.core.engine import TurnHook
from bot.messages import Incoming
from bot.services.storage import attachments
from models import OutboxMessage, WebOwnMessage

_QUIET: ContextVar[bool] = ContextVar("web_own_quiet", default=False)
TEXT_KINDS = ("text", "command")


@contextmanager
def quiet() -> Iterator[None]:
    """Within the block, the updates processed are not shown as the person's messages."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def _key(incoming: Incoming) -> str:
    prefix = f"{incoming.chat_id}:"
    update = incoming.update_id
    return update[len(prefix) :] if update.startswith(prefix) else update


def _typed(incoming: Incoming) -> str:
    if incoming.kind == "command":
        return f"/{incoming.command} {incoming.args}".rstrip()
    return incoming.text


async def _label(session: AsyncSession, incoming: Incoming) -> tuple[str, int] | None:
    """The pressed chip's label and its message, from the message the page showed it on."""
    message = incoming.message_id or ""
    if not message.isdigit() or int(message) >= 2**63:
        return None
    row = await session.get(OutboxMessage, int(message))
    if row is None or (row.channel, row.chat_id) != (incoming.channel, incoming.chat_id):
        return None
    for line in row.payload.get("buttons", []):
        for label, data in line:
            if data == incoming.button_data:
                return str(label), row.id
    return None


async def _kept_photo(ctx: Context) -> str | None:
    incoming = ctx.incoming
    name = incoming.photos[0].file_id if incoming.photos else ""
    if not attachments.NAME.fullmatch(name):
        return None
    if name in json.dumps(ctx.conversation.data or {}):  # the flow holds it, not yet saved
        return name
    held = await attachments.is_referenced(
        ctx.session, name, channel=incoming.channel, chat_id=incoming.chat_id
    )
    return name if held else None


async def _fields(ctx: Context) -> dict[str, Any] | None:
    incoming = ctx.incoming
    if incoming.kind in TEXT_KINDS:
        return {"kind": incoming.kind, "text": _typed(incoming)}
    if incoming.kind == "location":
        return {"kind": "location"}
    if incoming.kind == "button":
        found = await _label(ctx.session, incoming)
        return {"kind": "button", "text": found[0], "pressed_id": found[1]} if found else None
    if incoming.kind == "photo":
        name = await _kept_photo(ctx)
        return {"kind": "photo", "photo": name, "text": incoming.text} if name else None
    return None


async def newest_row(session: AsyncSession, *, channel: str, chat_id: str) -> int:
    """The id of the chat's newest outbox row, delivered or not (0: none yet)."""
    query = select(func.max(OutboxMessage.id)).where(
        OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id
    )
    return int((await session.execute(query)).scalar_one_or_none() or 0)


def recorder(channels: tuple[str, ...] = CHANNELS) -> TurnHook:
    """The turn hook keeping what people send on these channels (the web chat's)."""

    async def hook(ctx: Context) -> None:
        if ctx.incoming.channel in channels and not _QUIET.get():
            await _record(ctx)

    return hook


record = recorder()


async def _record(ctx: Context) -> None:
    """Keep what the person just sent (see the module)."""
    incoming = ctx.incoming
    fields = await _fields(ctx)
    if fields is None:
        return
    if ctx.person.id is None:
        await ctx.session.flush()
    after = await newest_row(ctx.session, channel=incoming.channel, chat_id=incoming.chat_id)
    ctx.session.add(
        WebOwnMessage(
            channel=incoming.channel,
            chat_id=incoming.chat_id,
            person_id=ctx.person.id,
            key=_key(incoming)[:64],
            after_id=after,
            created_at=ctx.now,
            **fields,
        )
    )


async def _before(session: AsyncSession, *, channel: str, chat_id: str, row_id: int) -> int:
    """The id of the chat's delivered row before `row_id` (0: none)."""
    query = select(func.max(OutboxMessage.id)).where(
        OutboxMessage.channel == channel,
        OutboxMessage.chat_id == chat_id,
        OutboxMessage.status.in_(VISIBLE),
        OutboxMessage.id < row_id,
    )
    return int((await session.execute(query)).scalar_one_or_none() or 0)


async def list_own(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    after: int | None,
    rows: list[OutboxMessage],
    full: bool,
    limit: int = 100,
) -> list[WebOwnMessage]:
    """The chat's own messages that go with these bot `rows`, oldest first.

    after=None (a page opened afresh, `rows` the newest): the own messages since the row
    before the first shown (all when the history is shorter than a page). Otherwise the own
    messages with id > `after`; when the bot's page was cut (`full`), only those that go
    before its last row, the others come with the next page."""
    query = select(WebOwnMessage).where(
        WebOwnMessage.channel == channel, WebOwnMessage.chat_id == chat_id
    )
    if after is None:
        if full and rows:
            start = await _before(session, channel=channel, chat_id=chat_id, row_id=rows[0].id)
            query = query.where(WebOwnMessage.after_id >= start)
        newest = await session.scalars(query.order_by(WebOwnMessage.id.desc()).limit(limit))
        return list(reversed(list(newest)))
    query = query.where(WebOwnMessage.id > after)
    if full and rows:
        query = query.where(WebOwnMessage.after_id < rows[-1].id)
    return list(await session.scalars(query.order_by(WebOwnMessage.id).limit(limit)))


def render_own(row: WebOwnMessage, settings: Settings) -> dict[str, Any]:
    """One own message as the page gets it. A photo whose file went (nothing held it any
    more) says so instead of showing a broken picture."""
    photo: dict[str, Any] | None = None
    if row.photo is not None:
        stored = attachments.photo_path(settings.webchat.upload_dir, row.photo)
        photo = {"url": f"/api/photos/{row.photo}"} if stored else {"expired": True}
    return {
        "id": row.id,
        "key": row.key,
        "kind": row.kind,
        "text": row.text,
        "photo": photo,
        "pressed": row.pressed_id,
        "after": row.after_id,
        "at": row.created_at.isoformat() if row.created_at else None,
    }


def order_key(item: OutboxMessage | WebOwnMessage) -> tuple[int, int, int]:
    """Bot rows and own messages in one order: an own message right after the row it
    followed, before the next one."""
    if isinstance(item, WebOwnMessage):
        return (item.after_id, 1, item.id)
    return (item.id, 0, 0)
