"""What every route needs: the app's shared objects, the caller's session, localized errors."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.webchat import DEMO, Hub
from bot.config import Settings
from bot.core.engine import Engine
from bot.i18n import pick_locale, t
from bot.metrics import Metrics
from bot.web import identities
from bot.web.auth import COOKIE, CSRF_HEADER, BadSession, SessionCodec, WebSession, csrf_ok
from bot.web.throttle import AddressLimiter


@dataclass
class WebState:
    """The objects shared by the routes of one app."""

    engine: Engine
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    hub: Hub
    codec: SessionCodec
    metrics: Metrics
    limiter: AddressLimiter  # new sessions per client address


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
        retry_after: int | None = None,
        **params: object,
    ) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.code = code or key.removeprefix("web.")
        self.locale = locale
        self.clear_cookie = clear_cookie
        self.retry_after = retry_after  # seconds, sent as Retry-After
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


def _cookie_session(request: Request) -> WebSession:
    try:
        return get_state(request).codec.read(request.cookies.get(COOKIE))
    except BadSession as bad:
        raise ApiError(
            401,
            f"web.session_{bad.code}",
            code=f"session_{bad.code}",
            clear_cookie=bad.code != "missing",
        ) from None


def _ended(code: str) -> ApiError:
    return ApiError(401, f"web.session_{code}", code=f"session_{code}", clear_cookie=True)


async def current_session(request: Request, response: Response) -> WebSession:
    """The caller's session, checked against the database: 401 with a clear message when the
    cookie is missing, forged or expired, the person was erased, their sessions were ended, or
    it is a demo identity's while demo mode is off. A session that started before its person
    existed is bound to them (the cookie is re-issued) once their first message made one."""
    return await _checked(request, response, _cookie_session(request))


async def _checked(request: Request, response: Response, web: WebSession) -> WebSession:
    state = get_state(request)
    if web.channel == DEMO and not state.settings.webchat.demo:
        raise _ended("demo_off")
    async with state.sessions() as db:
        person = await identities.session_person(db, web=web)
    if person is None:
        if web.person_id is not None:
            raise _ended("gone")
        return web  # a new session: nothing written until its first message
    if person.deleted_at is not None:
        raise _ended("gone")
    if person.session_epoch != web.epoch or (web.channel == DEMO and not person.is_demo):
        raise _ended("ended")
    request.state.person = person
    if web.person_id is None:
        web = reissue(request, response, web, person_id=person.id, roles=web.roles)
    return web


def reissue(
    request: Request,
    response: Response,
    web: WebSession,
    *,
    person_id: int | None,
    roles: tuple[str, ...],
    epoch: int | None = None,
    new_csrf: bool = False,
) -> WebSession:
    """The same browser session (same chat; same CSRF token unless `new_csrf`) for `person_id`
    with these roles: a new cookie on `response`."""
    web, value = get_state(request).codec.issue(
        channel=web.channel,
        chat_id=web.chat_id,
        user_id=web.user_id,
        person_id=person_id,
        epoch=web.epoch if epoch is None else epoch,
        roles=roles,
        csrf=None if new_csrf else web.csrf,
    )
    set_cookie(request, response, value)
    return web


def set_cookie(request: Request, response: Response, value: str) -> None:
    """Set the session cookie: httpOnly, SameSite=Lax, Secure when served over https (or the
    configured public address is https: behind a proxy the app itself may see http)."""
    state = get_state(request)
    response.set_cookie(
        COOKIE,
        value,
        max_age=state.codec.max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or state.settings.web.base_url.startswith("https:"),
        path="/",
    )


async def posting_session(request: Request, response: Response) -> WebSession:
    """The caller's session, for a POST: the CSRF header must carry the session's token."""
    web = _cookie_session(request)
    if not csrf_ok(web, request.headers.get(CSRF_HEADER)):
        raise ApiError(403, "web.csrf", code="csrf")
    return await _checked(request, response, web)


def require_csrf_header(request: Request) -> None:
    """For POSTs made before there is a session: the custom header must be present, which a
    cross-site form cannot add (and we answer no CORS preflight)."""
    if not request.headers.get(CSRF_HEADER):
        raise ApiError(403, "web.csrf", code="csrf")
