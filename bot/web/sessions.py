"""Routes that start, show, switch and end a web chat session, and serve the page's texts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from bot.channels.webchat import DEMO, WEBCHAT
from bot.i18n import LOCALES, catalog, pick_locale
from bot.services.org import rights
from bot.web import identities, menu
from bot.web.auth import COOKIE, WebSession
from bot.web.state import (
    ApiError,
    current_session,
    get_state,
    posting_session,
    reissue,
    request_locale,
    require_csrf_header,
    set_cookie,
)
from models import Person

router = APIRouter(prefix="/api")


class DemoChoice(BaseModel):
    person: str = Field(min_length=1, max_length=100)


async def describe(
    request: Request, session: WebSession, *, person: Person | None = None
) -> dict[str, Any]:
    """What the page needs to know about its session."""
    state = get_state(request)
    language = person.language if person is not None else None
    locale = pick_locale(language, request_locale(request), state.settings.locale.default)
    registered = person is not None and person.compound_id is not None
    return {
        "chat": f"{session.channel}:{session.chat_id}",
        "demo_identity": session.channel == DEMO,
        "name": person.display_name if person is not None else "",
        "roles": list(session.roles),
        "csrf": session.csrf,
        "locale": locale,
        "menu": menu.page_menu(session.roles, locale, registered=registered),
        "demo": state.settings.webchat.demo,
        "max_upload_mb": state.settings.webchat.max_upload_mb,
        # The district's zone: the page shows times as the district reads them, wherever
        # the browser is.
        "timezone": state.settings.timezone,
    }


@router.get("/session")
async def show_session(
    request: Request, response: Response, web: WebSession = Depends(current_session)
) -> dict[str, Any]:
    """The caller's session; re-issued, with a new CSRF token, when their roles changed."""
    person: Person | None = getattr(request.state, "person", None)
    if person is None:  # not used yet: no person until the first message
        return await describe(request, web)
    async with get_state(request).sessions() as db:
        roles = await identities.list_roles(db, person_id=person.id)
    if roles != web.roles:
        web = reissue(request, response, web, person_id=person.id, roles=roles, new_csrf=True)
    return await describe(request, web, person=person)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/session", dependencies=[Depends(require_csrf_header)])
async def start_session(request: Request, response: Response) -> dict[str, Any]:
    """Start as a new resident. Nothing is written: the first message makes the person."""
    state = get_state(request)
    address = _client_address(request)
    if not state.limiter.allow(address):
        raise ApiError(
            429,
            "web.too_many_sessions",
            code="too_many_sessions",
            retry_after=state.limiter.retry_after(address),
        )
    chat_id = identities.new_chat_id()
    web, value = state.codec.issue(
        channel=WEBCHAT, chat_id=chat_id, user_id=chat_id, person_id=None
    )
    set_cookie(request, response, value)
    return await describe(request, web)


@router.post("/session/end")
async def end_session(
    request: Request, response: Response, web: WebSession = Depends(posting_session)
) -> dict[str, Any]:
    """Sign out: this person's web chat sessions end on every device (a demo person's: this
    browser's only, other visitors may be acting as them)."""
    person: Person | None = getattr(request.state, "person", None)
    if person is not None and not person.is_demo:
        state = get_state(request)
        async with state.sessions() as db, db.begin():
            await rights.end_sessions(
                db, person_id=person.id, actor_id=person.id, now=state.engine.clock()
            )
    response.delete_cookie(COOKIE, path="/")
    return {"ended": True}


@router.get("/demo-people")
async def demo_people(request: Request) -> dict[str, Any]:
    """The demo district's people a visitor may act as (demo mode only)."""
    state = get_state(request)
    if not state.settings.webchat.demo:
        raise ApiError(404, "web.demo_off", code="demo_off")
    locale = request.query_params.get("locale") or request_locale(request)
    locale = pick_locale(locale, None, state.settings.locale.default)
    async with state.sessions() as db:
        people = await identities.list_demo_people(db, locale=locale)
    return {
        "people": [
            {"key": p.key, "name": p.name, "roles": [list(r) for r in p.roles]} for p in people
        ]
    }


@router.post("/session/demo", dependencies=[Depends(require_csrf_header)])
async def choose_demo_person(
    request: Request, response: Response, choice: DemoChoice
) -> dict[str, Any]:
    """Act as a demo person: the session is re-issued for their "demo" identity."""
    state = get_state(request)
    if not state.settings.webchat.demo:
        raise ApiError(404, "web.demo_off", code="demo_off")
    async with state.sessions() as db:
        identity = await identities.get_identity(db, channel=DEMO, external_id=choice.person)
        person = await identities.get_person(db, person_id=identity.person_id) if identity else None
        if identity is None or person is None or not person.is_demo:
            raise ApiError(404, "web.demo_unknown", code="demo_unknown")
        roles = await identities.list_roles(db, person_id=person.id)
    web, value = state.codec.issue(
        channel=DEMO,
        chat_id=identity.chat_id,
        user_id=identity.external_id,
        person_id=person.id,
        epoch=person.session_epoch,
        roles=roles,
    )
    set_cookie(request, response, value)
    return await describe(request, web, person=person)


@router.get("/i18n")
async def page_texts(request: Request) -> dict[str, Any]:
    """The page's own texts (domain `web`) in the asked locale, else the browser's."""
    asked = request.query_params.get("locale")
    locale = asked if asked in LOCALES else request_locale(request)
    texts = {k: v for k, v in catalog(locale).items() if k.startswith("web.")}
    return {"locale": locale, "texts": texts}
