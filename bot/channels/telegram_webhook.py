"""The Telegram webhook endpoint: a FastAPI router the project's HTTP app includes.

Telegram redelivers an update until it gets a 2xx, so the answer is 200 only once the update's
handling is committed; a database outage answers 503 and Telegram tries again later. Every call
must carry the secret given to setWebhook, or nothing is processed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.exc import DBAPIError

from bot.channels.telegram_common import SECRET_HEADER, MalformedUpdate
from bot.core.flood import Deferred

log = logging.getLogger(__name__)

UpdateHandler = Callable[[dict[str, Any]], Awaitable[bool]]


def make_webhook_router(*, path: str, secret: str, handle_update: UpdateHandler) -> APIRouter:
    """A router with one POST endpoint at `path` feeding verified updates to `handle_update`.

    Missing secret header: 401; wrong secret: 403; a body that is not an update (not JSON, not
    an object, no integer update_id, no chat, an id that is not an integer): 400 and one log
    line without the body (Telegram would resend the same bytes forever on a 5xx); handler
    raised or returned False: 503.
    """
    if not secret:
        raise ValueError("a webhook needs a secret token")
    expected = secret.encode()
    router = APIRouter()

    @router.post(path, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return Response(status_code=401)
        if not hmac.compare_digest(given.encode(), expected):
            return Response(status_code=403)
        try:
            update = json.loads(await request.body())
            update_id = update["update_id"]
            if isinstance(update_id, bool) or not isinstance(update_id, int):
                raise MalformedUpdate("update_id is not an integer")
        except (ValueError, KeyError, TypeError):
            log.warning("telegram webhook: a body that is not an update was dropped")
            return Response(status_code=400)
        try:
            handled = await handle_update(update)
        except MalformedUpdate as bad:
            # Our own words only: the update's text is not logged.
            log.warning("telegram webhook: update %s dropped: %s", update_id, bad)
            return Response(status_code=400)
        except Exception as exc:
            # Most likely the database is unavailable; Telegram will deliver the update again.
            # A database error was logged by the engine in one line with its cause.
            database = isinstance(exc, (DBAPIError, Deferred))
            log.log(
                logging.DEBUG if database else logging.WARNING,
                "telegram update %s not handled; asking for redelivery",
                update_id,
                exc_info=not database,
            )
            return Response(status_code=503)
        return Response(status_code=200 if handled else 503)

    return router


@dataclass
class RunningServer:
    """A uvicorn server started by `serve_webhook`."""

    server: Any
    task: asyncio.Task[None]
    port: int

    async def stop(self) -> None:
        """Stop accepting calls and wait for the server to finish."""
        self.server.should_exit = True
        await self.task


async def serve_webhook(
    router: APIRouter, *, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """Serve one router with uvicorn on its own (tests, or before the web app exists)."""
    import uvicorn

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task  # raises the startup error
        await asyncio.sleep(0.01)
    return RunningServer(server, task, sock.getsockname()[1])
