"""The outbound side of a channel, as the core and the sender see it: what any channel must do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Outgoing


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a channel reports after a send attempt."""

    ok: bool
    message_id: str | None = None
    retry_after: float | None = None  # the vendor asked us to wait (HTTP 429)
    unreachable: bool = False  # the person blocked us / the chat is gone: never retry
    permanent: bool = False  # the message itself is bad: retrying will not help
    # The channel may not write to the person until they write again (WeChat's closed
    # window): the row waits, holding its chat's later rows, until the channel wakes it.
    wait_for_person: bool = False
    error: str = ""


class OutputChannel(Protocol):
    """The outbound side of a channel. Only `send` is required of a channel; a channel that
    cannot render buttons, photos or documents turns them into text (see `numbered_choices`)."""

    name: str
    supports_buttons: bool
    # False for channels of our own (test, web chat): the sender applies no vendor rate limits.
    # The sender reads it with getattr(..., True), so vendor channels may leave it out.
    rate_limited: bool

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        """Deliver one message to a chat and report the outcome; never raise for vendor errors."""
        ...
