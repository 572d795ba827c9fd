"""The project's HTTP app: the web chat page and API, `/healthz`, `/metrics`, and whatever
routers other channels bring (the Telegram webhook). `serve` runs it under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.channels.webchat import DEMO, Hub, WebchatChannel
from bot.config import Settings
from bot.core.engine import Engine
from bot.metrics import Metrics
from bot.web import chat, media, ops, own
from bot.web import sessions as session_routes
from bot.web.access_log import AccessLog
from bot.web.auth import COOKIE, DAY_S, SessionCodec, load_secret
from bot.web.limits import FORM_OVERHEAD, BodyLimit, LimitBodies, kb_limit
from bot.web.state import ApiError, WebState
from bot.web.throttle import AddressLimiter

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
# The page loads nothing from elsewhere and runs no inline script: a stray tag in a message
# could not run even if it reached the DOM.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
        b"style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class _Observe:
    """ASGI middleware: counts responses by status and adds the security headers."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.http[int(message["status"])] += 1
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except Exception:
            self.metrics.count_error("http_unhandled")
            raise


def _find_hub(engine: Engine, settings: Settings) -> Hub:
    channels = [c for c in engine.outputs.values() if isinstance(c, WebchatChannel)]
    if not channels:
        raise ValueError("the engine has no web chat output: add webchat_outputs(hub) to it")
    if settings.webchat.demo and not isinstance(engine.outputs.get(DEMO), WebchatChannel):
        raise ValueError('webchat.demo is on but the engine has no "demo" web chat output')
    return channels[0].hub


def body_limits(settings: Settings, extra_routers: Sequence[APIRouter]) -> dict[str, BodyLimit]:
    """The routes whose bodies may be larger than web.max_body_kb: the photo upload, and the
    routes other channels bring (webhooks)."""
    mb = settings.webchat.max_upload_mb
    limits = {
        chat.PHOTO_ROUTE: BodyLimit(
            mb * 1024 * 1024 + FORM_OVERHEAD, "web.photo_too_large", "photo_too_large", {"mb": mb}
        )
    }
    for router in extra_routers:
        for route in router.routes:
            path = getattr(route, "path", None)
            if isinstance(path, str):
                limits[path] = kb_limit(settings.web.max_webhook_kb)
    return limits


def _answer_errors(app: FastAPI) -> None:
    """Refusals as JSON in the person's language, with the cookie cleared or Retry-After
    when the error says so."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        response = JSONResponse(
            {"error": error.message(request), "code": error.code}, status_code=error.status
        )
        if error.clear_cookie:
            response.delete_cookie(COOKIE, path="/")
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, _error: RequestValidationError) -> JSONResponse:
        return await api_error(request, ApiError(422, "web.bad_request", code="bad_request"))


def create_app(
    *,
    engine: Engine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    extra_routers: Sequence[APIRouter] = (),
    metrics: Metrics | None = None,
    codec: SessionCodec | None = None,
) -> FastAPI:
    """The HTTP app over this engine; its outputs must include the web chat channels."""
    hub = _find_hub(engine, settings)
    metrics = metrics or Metrics()
    codec = codec or SessionCodec(
        load_secret(settings), max_age_s=int(settings.webchat.session_days * DAY_S)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        hub.close()  # end the open event streams so shutdown does not wait on them

    app = FastAPI(
        title="redgrid", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    limiter = AddressLimiter(settings.webchat.sessions_per_hour)
    app.state.web = WebState(engine, sessions, settings, hub, codec, metrics, limiter)
    if own.record not in engine.turn_hooks:  # the person's own messages, for their other tabs
        engine.turn_hooks.append(own.record)
    # Added first, so it runs inside _Observe: its refusals are counted and carry the headers.
    app.add_middleware(
        LimitBodies,
        default=kb_limit(settings.web.max_body_kb),
        routes=body_limits(settings, extra_routers),
    )
    app.add_middleware(_Observe, metrics=metrics)
    # Outermost: a request refused by any layer below is logged too. The other channels'
    # routes (the Telegram webhook) may carry a secret in their path.
    hidden = [getattr(route, "path", "") for router in extra_routers for route in router.routes]
    app.add_middleware(AccessLog, hidden_paths=hidden)

    _answer_errors(app)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (session_routes.router, chat.router, media.router, ops.router, *extra_routers):
        app.include_router(router)
    return app


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the caller owns signals and sets `stop`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: FastAPI, host: str, port: int, lifespan: str = "on") -> _Server:
    # No access log of uvicorn's (AccessLog writes a masked one) and no logging setup of its
    # own: its records go to the app's handlers, which mask phone numbers and secrets.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan=lifespan,  # type: ignore[arg-type]
        log_level="info",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return _Server(config)


def metrics_app(app: FastAPI) -> FastAPI:
    """/healthz and /metrics in full, without a token, for the loopback-only metrics port."""
    local = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    local.state.web = app.state.web
    local.include_router(ops.local_router)
    return local


async def serve(app: FastAPI, settings: Settings, stop: asyncio.Event) -> None:
    """Serve `app` on web.host:web.port (and the metrics on 127.0.0.1:web.metrics_port when
    set) until `stop` is set, then shut down gracefully: open event streams end, requests in
    flight finish (up to 10 s)."""
    servers = [(_server(app, settings.web.host, settings.web.port), settings.web.host)]
    if settings.web.metrics_port is not None:
        local = _server(metrics_app(app), "127.0.0.1", settings.web.metrics_port, "off")
        servers.append((local, "127.0.0.1"))

    async def watch() -> None:
        await stop.wait()
        app.state.web.hub.close()
        for server, _ in servers:
            server.should_exit = True

    async def run(server: _Server, host: str) -> None:
        try:
            await server.serve()
        except SystemExit:
            # uvicorn exits when it cannot bind; say which address instead.
            raise OSError(f"web chat: cannot listen on {host}:{server.config.port}") from None

    watcher = asyncio.create_task(watch())
    tasks = [asyncio.create_task(run(server, host)) for server, host in servers]
    try:
        await asyncio.gather(*tasks)
    finally:
        watcher.cancel()
        for server, _ in servers:  # one could not bind: the other stops too
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
