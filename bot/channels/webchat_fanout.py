"""Live web chat pushes across workers, through PostgreSQL's LISTEN/NOTIFY.

A row delivered to a web chat wakes the chat's open streams in this process (`Hub`); with
several workers the page may be connected to another one. So each delivery is also announced
on a notification channel (batched: one statement per `flush_s` for every chat delivered
meanwhile), and each worker listens on a connection of its own and wakes its streams for the
chats it hears of. The stream's periodic re-read (15 s) stays the safety net: a notification
lost while the listening connection was down is made up by waking every stream on reconnect.

PostgreSQL only; on SQLite there is one process and the hub alone suffices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat import ChatKey, Hub

log = logging.getLogger(__name__)

CHANNEL = "redgrid_webchat"
_NOTIFY = text(
    "SELECT pg_notify(:channel, message) FROM unnest(CAST(:messages AS text[])) AS message"
)
# A notification's payload is at most 8000 bytes: chats go in several when many.
MAX_PAYLOAD = 7000


class Fanout:
    """Announces this worker's web chat deliveries and wakes its streams for the others'."""

    def __init__(
        self,
        hub: Hub,
        sessions: async_sessionmaker[AsyncSession],
        database_url: str,
        worker_id: str,
        *,
        flush_s: float = 0.02,
        retry_s: float = 1.0,
    ) -> None:
        self.hub = hub
        self.sessions = sessions
        self.url = database_url
        self.worker_id = worker_id
        self.flush_s = flush_s
        self.retry_s = retry_s
        self._pending: set[ChatKey] = set()
        self._flushing: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while the listening connection is up
        self.heard = 0  # chats woken for other workers' deliveries (tests, metrics)

    def announce(self, chat: ChatKey) -> None:
        """Tell the other workers `chat` has a new row (soon, with others, in one statement)."""
        self._pending.add(chat)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_s)
        chats, self._pending = self._pending, set()
        try:
            async with self.sessions() as session, session.begin():
                params = {"channel": CHANNEL, "messages": self._messages(chats)}
                await session.execute(_NOTIFY, params)
        except Exception as exc:  # the others' streams catch up on their re-read
            log.warning("web chat fan-out: could not notify (%s)", type(exc).__name__)

    def _messages(self, chats: set[ChatKey]) -> list[str]:
        """Payloads: this worker's id, then chats as channel:chat_id, one per line."""
        messages, lines, size = [], [self.worker_id], 0
        for channel, chat_id in sorted(chats):
            line = f"{channel}:{chat_id}"
            if size + len(line) > MAX_PAYLOAD:
                messages.append("\n".join(lines))
                lines, size = [self.worker_id], 0
            lines.append(line)
            size += len(line) + 1
        messages.append("\n".join(lines))
        return messages

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        sender, *lines = payload.split("\n")
        if sender == self.worker_id:
            return  # our own: the hub was woken at delivery
        for line in lines:
            channel, _, chat_id = line.partition(":")
            self.heard += self.hub.wake((channel, chat_id)) > 0

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`, connecting again after a loss (every stream woken then)."""
        while not stop.is_set():
            try:
                await self._listen(stop)
            except Exception as exc:
                log.warning("web chat fan-out: listening stopped (%s); again soon", exc)
            self.listening.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.retry_s)
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)

    async def _listen(self, stop: asyncio.Event) -> None:
        import asyncpg

        url = make_url(self.url)
        connection = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._heard)
            self.listening.set()
            self.hub.wake_all()  # whatever was announced while no one listened
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)
