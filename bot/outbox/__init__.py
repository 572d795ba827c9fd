"""The outbox: every push is a row written with the change that caused it; `Sender` delivers.

Callers: write a push with `enqueue(session, ...)` in their own transaction (services import
it from `bot.outbox.store`); row statuses are `models.OutboxStatus`. After commit, the
conversation engine hands its replies to `sender.deliver_now` (or `deliver_soon`); one
`sender.run(stop)` per process delivers everything else; health checks call `backlog(session)`.
"""

from bot.outbox.limits import Limits
from bot.outbox.quiet import QuietHours
from bot.outbox.sender import Sender, clean_error, telegram_style_group
from bot.outbox.store import Claimed, backlog, enqueue

__all__ = [
    "Claimed",
    "Limits",
    "QuietHours",
    "Sender",
    "backlog",
    "clean_error",
    "enqueue",
    "telegram_style_group",
]
