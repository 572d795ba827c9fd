"""The HTTP access log, one line per request, with nothing personal or secret in it.

Replaces uvicorn's access log, which writes whole query strings: start payloads (`?start=inv_...`
invite codes, `c_<id>`), phone numbers a form carried, tokens. Here every query value is masked,
paths that hold a secret (the Telegram webhook's) are masked whole, and the line goes through the
app's logging, whose filter masks phone numbers and secrets once more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logging_setup import MASK

log = logging.getLogger("bot.web.access")


def masked_target(path: str, query: bytes, hidden: frozenset[str] = frozenset()) -> str:
    """The request target as logged: hidden paths masked, query names kept, values masked."""
    shown = MASK if path in hidden else path
    if not query:
        return shown
    names = [name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]
    return shown + "?" + "&".join(f"{name[:40]}={MASK}" for name in names[:20])


class AccessLog:
    """ASGI middleware: logs `client "METHOD target" status duration` after each response."""

    def __init__(self, app: ASGIApp, hidden_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.hidden = frozenset(hidden_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 0

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            client = scope.get("client") or ("-", 0)
            target = masked_target(scope["path"], scope.get("query_string", b""), self.hidden)
            log.info(
                '%s "%s %s" %s %.0fms',
                client[0],
                scope["method"],
                target,
                status or "-",
                (time.monotonic() - started) * 1000,
            )
