"""A fake clock and a recording output channel that can be scripted to fail."""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.output import SendResult
from bot.messages import Outgoing


class FakeClock:
    """Time that moves only when someone sleeps (or the test says so)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        # Round up to a whole microsecond, or a sleep of a few nanoseconds would never end.
        self.now += timedelta(microseconds=max(1, math.ceil(seconds * 1_000_000)))

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
        await asyncio.sleep(0)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the sender catches it."""


@dataclass(frozen=True)
class Sent:
    chat_id: str
    text: str
    at: datetime


Outcome = SendResult | BaseException


class RecordingChannel:
    """An OutputChannel that records what it delivered; `script` makes the next sends to a
    chat fail. A `Crash` outcome delivers the message, then raises."""

    supports_buttons = True

    def __init__(self, clock: Callable[[], datetime], name: str = "test") -> None:
        self.name = name
        self.clock = clock
        self.sent: list[Sent] = []
        self.calls: list[Sent] = []
        self.scripts: dict[str, list[Outcome]] = defaultdict(list)
        self.on_sent: Callable[[Sent], None] | None = None

    def script(self, chat_id: str, *outcomes: Outcome) -> None:
        self.scripts[chat_id].extend(outcomes)

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        record = Sent(chat_id, message.text, self.clock())
        self.calls.append(record)
        if self.scripts[chat_id]:
            outcome = self.scripts[chat_id].pop(0)
            if isinstance(outcome, Crash):
                self.sent.append(record)
                raise outcome
            if isinstance(outcome, BaseException):
                raise outcome
            if not outcome.ok:
                return outcome
        self.sent.append(record)
        if self.on_sent:
            self.on_sent(record)
        return SendResult(ok=True, message_id=str(len(self.sent)))

    def texts(self, chat_id: str) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]
