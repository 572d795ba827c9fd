"""Shared rendering of requests for resident-facing messages."""

from __future__ import annotations

from datetime import datetime

from bot import i18n
from bot.core.context import Context
from bot.services.org import erasure
from models import Category, Request, RequestEvent


def when(ctx: Context, value: datetime | None) -> str:
    """A moment in the district's time zone, in the reader's language."""
    return i18n.moment(value, ctx.locale, ctx.settings.tz, now=ctx.now)


def status_name(ctx: Context, status: str) -> str:
    """The status as residents read it."""
    return ctx.t(f"status.{status}")


def request_line(ctx: Context, request: Request, category: Category | None) -> str:
    """One line: reference · category · status."""
    name = category.name(ctx.locale) if category else ""
    return f"{request.reference} · {name} · {status_name(ctx, request.status)}"


def timeline(ctx: Context, events: list[RequestEvent], *, reporter_id: int | None = None) -> str:
    """The public events of a request, one per line. Given the reporter, the reader is a
    neighbour following it: the notes the reporter wrote (their additions, reasons, comments)
    are theirs and the staff's to read, so only the event shows."""
    lines = []
    for event in events:
        label = status_name(ctx, event.to_status) if event.to_status else ctx.t("req.note")
        theirs = reporter_id is not None and event.actor_id == reporter_id
        note = f": {erasure.shown(event.note, ctx.locale)}" if event.note and not theirs else ""
        lines.append(f"{when(ctx, event.at)} {label}{note}")
    return "\n".join(lines)
