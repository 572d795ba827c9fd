"""What every route needs: the app's shared objects, the caller's session, localized errors."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat import Hub
from bot.config import Settings
from bot.core.engine import Engine
from bot.i18n import pick_locale, t
from bot.metrics import Metrics, Process
from bot.web.auth import COOKIE, CSRF_HEADER, BadSession, SessionCodec, WebSession, csrf_ok


@dataclass
class WebState:
    """The objects shared by the routes of one app."""

    engine: Engine
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    hub: Hub
    codec: SessionCodec
    metrics: Metrics

    @property
    def process(self) -> Process:
        """Hand an update to the engine (which counts it)."""
        return self.engine.process


class ApiError(Exception):
    """An error answered as JSON `{"error": <message in the caller's language>, "code": ...}`."""

    def __init__(
        self,
        status: int,
        key: str,
        *,
        code: str = "",
        locale: str | None = None,
        clear_cookie: bool = False,
        **params: object,
    ) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.code = code or key.removeprefix("web.")
        self.locale = locale
        self.clear_cookie = clear_cookie
        self.params = params

    def message(self, request: Request) -> str:
        """The error's text, in the given locale or the browser's."""
        return t(self.locale or request_locale(request), self.key, **self.params)


def get_state(request: Request) -> WebState:
    """The app's shared objects."""
    state: WebState = request.app.state.web
    return state


def request_locale(request: Request) -> str:
    """The browser's preferred language among ours, else the configured default."""
    default = get_state(request).settings.locale.default
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].split(";")[0].strip()
    return pick_locale(None, first or None, default)


def current_session(request: Request) -> WebSession:
    """The caller's session (401 with a clear message when missing, forged or expired)."""
    try:
        return get_state(request).codec.read(request.cookies.get(COOKIE))
    except BadSession as bad:
        raise ApiError(
            401,
            f"web.session_{bad.code}",
            code=f"session_{bad.code}",
            clear_cookie=bad.code != "missing",
        ) from None


def posting_session(request: Request) -> WebSession:
    """The caller's session, for a POST: the CSRF header must carry the session's token."""
    session = current_session(request)
    if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "web.csrf", code="csrf")
    return session


def require_csrf_header(request: Request) -> None:
    """For POSTs made before there is a session: the custom header must be present, which a
    cross-site form cannot add (and we answer no CORS preflight)."""
    if not request.headers.get(CSRF_HEADER):
        raise ApiError(403, "web.csrf", code="csrf")
