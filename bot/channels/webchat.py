"""The web chat channel: the outbox row is the message; delivering it wakes the chat's browsers.

`send` stores nothing: the sender has already claimed the row (status 'sending', committed),
so waking the chat's open event streams is enough for them to read it from the outbox, and the
sender then marks it sent. A page that was away asks for the rows after the last id it saw
(`list_delivered`), so nothing is lost while a phone slept.

The demo district's people talk on channel "demo"; the web chat serves that channel too (one
`WebchatChannel` per name over the same `Hub`, see `webchat_outputs`), so pushes written to a
demo person's identity reach the browser that picked that person.

The hub lives in one process; with several workers on PostgreSQL its `relay` announces each
delivery to the others (bot.channels.webchat_fanout: LISTEN/NOTIFY), so a page connected to
another worker hears of it at once too; the stream's periodic re-read (`POLL_SECONDS` in
bot/web/chat.py) is the safety net.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.output import SendResult
from bot.messages import Outgoing
from models import OutboxMessage, OutboxStatus
from models.person import DEMO_CHANNEL

WEBCHAT = "webchat"
DEMO = DEMO_CHANNEL
CHANNELS: tuple[str, ...] = (WEBCHAT, DEMO)
# Rows a browser may see: claimed for delivery (the sender is telling the page now) or sent.
VISIBLE = (OutboxStatus.sending, OutboxStatus.sent)

ChatKey = tuple[str, str]


class Hub:
    """Wakes the open event streams of a chat when one of its rows is delivered."""

    def __init__(self) -> None:
        self._waiters: dict[ChatKey, set[asyncio.Event]] = defaultdict(set)
        self.closing = asyncio.Event()
        # Tells the other workers of a delivery (several workers on PostgreSQL), else None.
        self.relay: Callable[[ChatKey], None] | None = None

    @contextmanager
    def subscribe(self, chat: ChatKey) -> Iterator[asyncio.Event]:
        """An event set whenever `chat` gets a row (or the hub closes), while the block runs."""
        event = asyncio.Event()
        self._waiters[chat].add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(chat)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[chat]

    def publish(self, chat: ChatKey) -> int:
        """`chat` has a new row: wake its streams here and tell the other workers; returns
        how many streams were listening here."""
        if self.relay is not None:
            self.relay(chat)
        return self.wake(chat)

    def wake(self, chat: ChatKey) -> int:
        """Wake the streams of `chat` in this process; returns how many were listening."""
        waiters = self._waiters.get(chat, set())
        for event in waiters:
            event.set()
        return len(waiters)

    def wake_all(self) -> None:
        """Wake every stream: each reads what it missed (the fan-out was down meanwhile)."""
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def close(self) -> None:
        """End every stream (graceful shutdown)."""
        self.closing.set()
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()


class WebchatChannel:
    """OutputChannel for browsers: delivery is waking the chat's pages; it never fails."""

    supports_buttons = True
    rate_limited = False  # our own channel: no vendor limits to respect

    def __init__(self, hub: Hub, name: str = WEBCHAT) -> None:
        self.hub = hub
        self.name = name

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        """Tell the chat's open pages to read their new rows; a closed page replays later."""
        self.hub.publish((self.name, chat_id))
        return SendResult(ok=True)


def webchat_outputs(hub: Hub) -> dict[str, WebchatChannel]:
    """The output channels the web chat serves: "webchat" and the demo people's "demo"."""
    return {name: WebchatChannel(hub, name) for name in CHANNELS}


async def list_delivered(
    session: AsyncSession, *, channel: str, chat_id: str, after: int | None, limit: int = 100
) -> list[OutboxMessage]:
    """The chat's delivered rows with id > `after`, oldest first; with after=None the newest
    `limit` rows (a page opened afresh shows recent history, not the first ever)."""
    query = select(OutboxMessage).where(
        OutboxMessage.channel == channel,
        OutboxMessage.chat_id == chat_id,
        OutboxMessage.status.in_(VISIBLE),
    )
    if after is not None:
        rows = await session.scalars(
            query.where(OutboxMessage.id > after).order_by(OutboxMessage.id).limit(limit)
        )
        return list(rows)
    newest = await session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit))
    return list(reversed(list(newest)))
