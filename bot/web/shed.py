"""Past saturation, messages are refused at once rather than queued for the database.

An ASGI middleware in front of the routes that take a message (`/api/send`, `/api/photo`):
at most `limit` of them are handled at once in this process; one more is answered 503 with
`Retry-After` in the browser's language before anything is read (no session, no body, no
connection from the pool). The page sends it again after that many seconds with the same
message key, so a message that was in fact handled is not handled twice (the key is the
update id the engine dedupes on).
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.i18n import t
from bot.metrics import Metrics
from bot.web.state import request_locale


class ShedLoad:
    """ASGI middleware: at most `limit` requests to `paths` in flight (0: no limit)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        paths: Collection[str],
        limit: int,
        retry_after_s: int,
        metrics: Metrics,
    ) -> None:
        self.app = app
        self.paths = frozenset(paths)
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.metrics = metrics
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.metrics.count_error("send_shed")
            await self._refuse(scope, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _refuse(self, scope: Scope, send: Send) -> None:
        request = Request(scope)
        body = {"error": t(request_locale(request), "web.busy"), "code": "busy"}
        headers = {"Retry-After": str(self.retry_after_s)}
        response = JSONResponse(body, status_code=503, headers=headers)

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)
