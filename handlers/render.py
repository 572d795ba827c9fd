"""Shared rendering of requests for resident-facing messages."""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime

from bot.core.context import Context
from models import Category, Request, RequestEvent

BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}


def when(ctx: Context, moment: datetime | None) -> str:
    """A moment in the district's time zone, in the reader's language."""
    if moment is None:
        return "-"
    local = moment.astimezone(ctx.settings.tz)
    return format_datetime(local, "short", locale=BABEL_LOCALES.get(ctx.locale, "zh_Hans_CN"))


def status_name(ctx: Context, status: str) -> str:
    """The status as residents read it."""
    return ctx.t(f"status.{status}")


def request_line(ctx: Context, request: Request, category: Category | None) -> str:
    """One line: reference · category · status."""
    name = category.name(ctx.locale) if category else ""
    return f"{request.reference} · {name} · {status_name(ctx, request.status)}"


def timeline(ctx: Context, events: list[RequestEvent]) -> str:
    """The public events of a request, one per line."""
    lines = []
    for event in events:
        label = status_name(ctx, event.to_status) if event.to_status else ctx.t("req.note")
        note = f": {event.note}" if event.note else ""
        lines.append(f"{when(ctx, event.at)} {label}{note}")
    return "\n".join(lines)
