"""Reply successes recorded together: once `batch` of them wait, or the oldest waited `delay`
seconds, whichever comes first; those sent while one transaction runs go in the next.

On a busy worker that is one transaction (one executemany) per few replies instead of a
statement in every update's own; and a process that dies leaves only a few sent replies
unrecorded, which the worker taking their rows over sends again (at least once, as for a crash
between send and record).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

log = logging.getLogger(__name__)

Mark = tuple[int, datetime, str | None]  # a sent row: id, when, the channel's message id
Record = Callable[[list[Mark]], Awaitable[None]]


class ReplyMarks:
    """Successes waiting to be recorded by `record` (one transaction for all it is given)."""

    def __init__(
        self, record: Record, *, delay: float, batch: int, describe: Callable[[Exception], str]
    ) -> None:
        self._record = record
        self._delay = delay
        self._batch = batch
        self._describe = describe
        self._waiting: list[Mark] = []
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, marks: Sequence[Mark]) -> None:
        """Record these soon, with others."""
        self._waiting.extend(marks)
        if len(self._waiting) >= self._batch:
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._record_later())

    async def _record_later(self) -> None:
        while self._waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._delay)
            self._full.clear()
            if not await self.flush():
                return  # logged; the next reply's marks try again

    async def flush(self) -> bool:
        """Record every success still waiting; False when the database refused (kept)."""
        marks, self._waiting = self._waiting, []
        if not marks:
            return True
        try:
            await self._record(marks)
        except Exception as exc:
            self._waiting[:0] = marks
            log.error("outbox: recording replies failed: %s", self._describe(exc))
            return False
        return True
