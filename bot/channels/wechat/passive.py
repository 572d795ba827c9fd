"""Passive replies: the callback waiting for its turn's first reply, to answer with it.

The callback opens a slot for the resident's chat before handing the update to the engine;
the first message the channel is asked to send to that chat while the slot is open goes
back in the callback's answer instead of through the API (after the update was committed:
the engine delivers replies only then). The channel then waits until the answer has been
written out, so the turn's later replies, sent by the API, arrive after it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque

# How long a send waits for the callback's answer to be written before going on.
WRITE_WAIT_S = 2.0


class Slot:
    """One callback waiting for a reply: text to answer with, or None (answer `success`)."""

    def __init__(self) -> None:
        self.reply: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.written = asyncio.Event()

    def answer(self, text: str | None) -> None:
        if not self.reply.done():
            self.reply.set_result(text)

    @property
    def open(self) -> bool:
        return not self.reply.done()


class PassiveSlots:
    """Open slots per chat, oldest first (one process: the one that got the callback)."""

    def __init__(self) -> None:
        self._slots: dict[str, deque[Slot]] = defaultdict(deque)

    def open(self, chat_id: str) -> Slot:
        slot = Slot()
        self._slots[chat_id].append(slot)
        return slot

    async def written(self, chat_id: str, slot: Slot) -> None:
        """The callback's answer went out (a background task of the response: in the event
        loop, never a worker thread, so the waiting send wakes)."""
        self.close(chat_id, slot)

    def close(self, chat_id: str, slot: Slot) -> None:
        """The callback answered: its slot takes no reply any more."""
        slot.answer(None)
        slot.written.set()
        queue = self._slots.get(chat_id)
        if queue is not None:
            if slot in queue:
                queue.remove(slot)
            if not queue:
                del self._slots[chat_id]

    def take(self, chat_id: str) -> Slot | None:
        """The oldest open slot of the chat, if any."""
        for slot in self._slots.get(chat_id, ()):
            if slot.open:
                return slot
        return None

    async def answer(self, slot: Slot, text: str | None) -> None:
        """Hand the callback its answer and wait (briefly) until it is written."""
        slot.answer(text)
        if text is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slot.written.wait(), WRITE_WAIT_S)
