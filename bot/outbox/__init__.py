"""The outbox: every push is a row written with the change that caused it; `Sender` delivers.

Callers: write rows with `enqueue(session, ...)` in their own transaction; after commit, the
conversation engine calls `sender.deliver_now(ids)` (or `deliver_soon`) for its replies; one
`sender.run(stop)` per process delivers everything else; health checks call `backlog(session)`.
"""

from bot.outbox.limits import Limits
from bot.outbox.quiet import QuietHours
from bot.outbox.sender import Sender, clean_error, telegram_style_group
from bot.outbox.store import (
    FAILED,
    PENDING,
    SENDING,
    SENT,
    UNREACHABLE,
    Claimed,
    backlog,
    enqueue,
)

__all__ = [
    "FAILED",
    "PENDING",
    "SENDING",
    "SENT",
    "UNREACHABLE",
    "Claimed",
    "Limits",
    "QuietHours",
    "Sender",
    "backlog",
    "clean_error",
    "enqueue",
    "telegram_style_group",
]
