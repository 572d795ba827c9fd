"""Routes that start, show and switch a web chat session, and serve the page's texts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from bot.channels.webchat import DEMO
from bot.i18n import LOCALES, catalog, pick_locale
from bot.web import identities
from bot.web.auth import COOKIE, WebSession
from bot.web.state import (
    ApiError,
    current_session,
    get_state,
    request_locale,
    require_csrf_header,
)

router = APIRouter(prefix="/api")


class DemoChoice(BaseModel):
    person: str = Field(min_length=1, max_length=100)


def set_cookie(request: Request, response: Response, value: str) -> None:
    """Set the session cookie: httpOnly, SameSite=Lax, Secure when served over https."""
    response.set_cookie(
        COOKIE,
        value,
        max_age=get_state(request).codec.max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


async def describe(
    request: Request, session: WebSession, *, name: str, language: str | None
) -> dict[str, Any]:
    """What the page needs to know about its session."""
    state = get_state(request)
    return {
        "chat": f"{session.channel}:{session.chat_id}",
        "demo_identity": session.channel == DEMO,
        "name": name,
        "roles": list(session.roles),
        "csrf": session.csrf,
        "locale": pick_locale(language, request_locale(request), state.settings.locale.default),
        "demo": state.settings.webchat.demo,
        "max_upload_mb": state.settings.webchat.max_upload_mb,
    }


@router.get("/session")
async def show_session(request: Request, response: Response) -> dict[str, Any]:
    """The caller's session; re-issued (fresh CSRF token) when their roles changed."""
    web = current_session(request)
    state = get_state(request)
    async with state.sessions() as db:
        person = await identities.get_person(db, person_id=web.person_id)
        if person is None:
            raise ApiError(401, "web.session_gone", code="session_gone", clear_cookie=True)
        roles = await identities.list_roles(db, person_id=person.id)
    if roles != web.roles:
        web, value = state.codec.issue(
            channel=web.channel,
            chat_id=web.chat_id,
            user_id=web.user_id,
            person_id=web.person_id,
            roles=roles,
        )
        set_cookie(request, response, value)
    return await describe(request, web, name=person.display_name, language=person.language)


@router.post("/session", dependencies=[Depends(require_csrf_header)])
async def start_session(request: Request, response: Response) -> dict[str, Any]:
    """Start as a new resident: a new person bound to a new web chat identity."""
    state = get_state(request)
    async with state.sessions() as db, db.begin():
        identity = await identities.create_resident(db)
    web, value = state.codec.issue(
        channel=identity.channel,
        chat_id=identity.chat_id,
        user_id=identity.external_id,
        person_id=identity.person_id,
        roles=(),
    )
    set_cookie(request, response, value)
    return await describe(request, web, name="", language=None)


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
        if identity is None or person is None:
            raise ApiError(404, "web.demo_unknown", code="demo_unknown")
        roles = await identities.list_roles(db, person_id=person.id)
    web, value = state.codec.issue(
        channel=DEMO,
        chat_id=identity.chat_id,
        user_id=identity.external_id,
        person_id=person.id,
        roles=roles,
    )
    set_cookie(request, response, value)
    return await describe(request, web, name=person.display_name, language=person.language)


@router.get("/i18n")
async def page_texts(request: Request) -> dict[str, Any]:
    """The page's own texts (domain `web`) in the asked locale, else the browser's."""
    asked = request.query_params.get("locale")
    locale = asked if asked in LOCALES else request_locale(request)
    texts = {k: v for k, v in catalog(locale).items() if k.startswith("web.")}
    return {"locale": locale, "texts": texts}
