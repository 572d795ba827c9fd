"""Request bodies are bounded before they are read.

An ASGI middleware in front of every route: a declared `Content-Length` over the route's limit
is refused with 413 before the app runs at all (no session is read, no byte of the body); a
chunked body is counted as it arrives and cut off with 413 as soon as it passes the limit, so
neither the process nor a route ever holds more than the limit of one request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.i18n import t
from bot.web.state import request_locale

log = logging.getLogger(__name__)

KB = 1024
# What a multipart form adds around the photo itself: boundaries, headers, key, caption.
FORM_OVERHEAD = 64 * KB


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """A route's largest body, and the catalog message that refuses a larger one."""

    max_bytes: int
    key: str = "limits.body_too_large"
    code: str = "body_too_large"
    params: Mapping[str, object] = field(default_factory=dict)


def kb_limit(kb: int) -> BodyLimit:
    """A limit of `kb` kilobytes, refused with the generic message."""
    return BodyLimit(kb * KB, params={"kb": kb})


class LimitBodies:
    """ASGI middleware: the body of each request is at most its route's limit (by exact path;
    any other path gets `default`)."""

    def __init__(
        self, app: ASGIApp, *, default: BodyLimit, routes: Mapping[str, BodyLimit]
    ) -> None:
        self.app = app
        self.default = default
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.routes.get(scope["path"], self.default)
        declared = _declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await _refuse(scope, send, limit)
            return
        await _Counted(self.app, limit).run(scope, receive, send)


class _Counted:
    """One request whose body is counted as the app reads it."""

    def __init__(self, app: ASGIApp, limit: BodyLimit) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.refused = False
        self.started = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit.max_bytes:
                    self.refused = True
                    if not self.started:
                        await _refuse(scope, send, self.limit)
                    # The app sees the client gone: it stops reading and its answer is dropped.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.refused:
                raise
            # The app failed on the body we cut off (a form parser meeting the disconnect):
            # the 413 already answered it.
            log.debug("a request cut off at its body limit ended the route", exc_info=True)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _refuse(scope: Scope, send: Send, limit: BodyLimit) -> None:
    """Answer 413 in the caller's language and close the connection (the rest of the body
    is not wanted)."""
    request = Request(scope)
    body = {"error": t(request_locale(request), limit.key, **limit.params), "code": limit.code}
    response = JSONResponse(body, status_code=413, headers={"connection": "close"})

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, nothing, send)
