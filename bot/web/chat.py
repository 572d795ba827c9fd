"""The chat API: messages in (text, button, location, photo), pushes out (SSE), replay by id.

Each POST becomes one `Incoming` on the session's channel; its update id is the page's
idempotency key scoped to the chat, so a retried POST is handled once. The answer returns
after the engine committed (and delivered the replies, when a sender is wired).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from bot.channels import webchat
from bot.core.outage import unavailable
from bot.i18n import pick_locale
from bot.messages import Incoming, Photo
from bot.services.storage import attachments
from bot.web import render, uploads
from bot.web.auth import WebSession
from bot.web.state import (
    ApiError,
    WebState,
    current_session,
    get_state,
    posting_session,
    request_locale,
)
from models import OutboxMessage

router = APIRouter(prefix="/api")

KEY = r"^[A-Za-z0-9-]{8,64}$"
PAGE = 100
# Row ids are 64-bit: a larger number cannot name a row, and the database would refuse it.
MAX_ID = 2**63 - 1
ID_TEXT = re.compile(r"[0-9]{1,19}")
PHOTO_ROUTE = "/api/photo"
# An open stream re-reads the outbox this often even without a wake (another worker's rows),
# and sends a comment so proxies keep the connection.
POLL_SECONDS = 15.0
# After a read the database could not serve (busy pool, restart), the stream tries again this
# soon: the rows delivered meanwhile arrive a moment late, and the stream stays open.
BUSY_RETRY_SECONDS = 1.0


class SendBody(BaseModel):
    key: str = Field(pattern=KEY)
    kind: Literal["text", "button", "location"]
    text: str = Field(default="", max_length=20000)
    data: str = Field(default="", max_length=200)
    message_id: str | None = Field(default=None, max_length=40)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    language: str | None = Field(default=None, max_length=20)


def _incoming(
    web: WebSession, key: str, kind: str, language: str | None, **fields: Any
) -> Incoming:
    return Incoming(
        channel=web.channel,
        chat_id=web.chat_id,
        user_id=web.user_id,
        update_id=f"{web.chat_id}:{key}",
        kind=kind,  # type: ignore[arg-type]
        language_code=language,
        **fields,
    )


def _from_body(web: WebSession, body: SendBody) -> Incoming:
    if body.kind == "location":
        if body.latitude is None or body.longitude is None:
            raise ApiError(422, "web.bad_request", code="bad_request")
        return _incoming(
            web,
            body.key,
            "location",
            body.language,
            latitude=body.latitude,
            longitude=body.longitude,
        )
    if body.kind == "button":
        return _incoming(
            web,
            body.key,
            "button",
            body.language,
            button_data=body.data,
            message_id=body.message_id,
        )
    text = body.text.strip()
    if not text:
        raise ApiError(422, "web.bad_request", code="bad_request")
    if text.startswith("/") and len(text) > 1:
        head, _, args = text[1:].partition(" ")
        return _incoming(
            web,
            body.key,
            "command",
            body.language,
            command=head.split("@", 1)[0],
            args=args.strip(),
        )
    return _incoming(web, body.key, "text", body.language, text=text)


async def _process(
    state: WebState,
    request: Request,
    web: WebSession,
    incoming: Incoming,
    *,
    admitted: bool = False,
) -> dict[str, Any]:
    try:
        result = await state.engine.process(incoming, admitted=admitted)
    except Exception as error:
        if not unavailable(error):
            raise
        # Not handled: the page sends it again after Retry-After, with the same key.
        locale = await _person_locale(state, request, web)
        retry = state.settings.webchat.busy_retry_after_s
        raise ApiError(
            503, "web.unavailable", code="unavailable", locale=locale, retry_after=retry
        ) from None
    return {"status": result.status, "outbox_ids": list(result.outbox_ids)}


@router.post("/send")
async def send(
    request: Request, body: SendBody, web: WebSession = Depends(posting_session)
) -> dict[str, Any]:
    """A typed message, a pressed button or a shared location. Text over the length limit is
    refused here (413, with the limit), so the page keeps it in the input box to shorten."""
    state = get_state(request)
    limit = state.settings.requests.max_text_length
    if body.kind == "text" and len(body.text.strip()) > limit:
        locale = await _person_locale(state, request, web)
        raise ApiError(413, "core.too_long", code="too_long", locale=locale, limit=limit)
    return await _process(state, request, web, _from_body(web, body))


async def _person_locale(state: WebState, request: Request, web: WebSession) -> str:
    person = getattr(request.state, "person", None)  # loaded with the session
    language = person.language if person is not None else None
    return pick_locale(language, request_locale(request), state.settings.locale.default)


@router.post(PHOTO_ROUTE.removeprefix(router.prefix))
async def send_photo(
    request: Request, web: WebSession = Depends(posting_session)
) -> dict[str, Any]:
    """A photo (JPEG/PNG/WebP, size capped), with an optional caption. Its body's size was
    bounded before (bot.web.limits); it counts against the person's flood limit before it is
    read, and the stored file stays only if the flow took it."""
    state = get_state(request)
    wait = await state.engine.flood.try_book((web.channel, web.user_id))
    if wait > 0:
        locale = await _person_locale(state, request, web)
        raise ApiError(
            429, "limits.photo_flood", code="photo_flood", locale=locale, seconds=math.ceil(wait)
        )
    form = await request.form(max_files=1, max_fields=5)
    try:
        incoming = await _photo_incoming(state, request, web, form)
    finally:
        await form.close()
    name = incoming.photos[0].file_id
    kept = False
    try:
        answer = await _process(state, request, web, incoming, admitted=True)
        kept = await _referenced(state, web, name)
    finally:
        if not kept:
            uploads.discard(state.settings.webchat.upload_dir, name)
    # The page shows the photo again after a reload, by this name (checked on each fetch).
    return {**answer, "photo": name if kept else None}


async def _photo_incoming(
    state: WebState, request: Request, web: WebSession, form: FormData
) -> Incoming:
    """The form checked and its photo stored, as the update it makes."""
    upload, key = form.get("file"), form.get("key")
    caption, language = form.get("caption") or "", form.get("language")
    if (
        not isinstance(upload, uploads.UploadFile)
        or not isinstance(key, str)
        or not re.fullmatch(KEY, key)
        or not isinstance(caption, str)
        or len(caption) > 4000
        or not (language is None or isinstance(language, str))
    ):
        raise ApiError(422, "web.bad_request", code="bad_request")
    mb = state.settings.webchat.max_upload_mb
    try:
        name, size = await uploads.store_photo(
            upload, directory=state.settings.webchat.upload_dir, max_bytes=mb * 1024 * 1024
        )
    except uploads.UploadRefused as refused:
        locale = await _person_locale(state, request, web)
        status = 413 if refused.key == "web.photo_too_large" else 415
        raise ApiError(status, refused.key, locale=locale, mb=mb) from None
    return _incoming(web, key, "photo", language, photos=(Photo(name, size),), text=caption.strip())


async def _referenced(state: WebState, web: WebSession, name: str) -> bool:
    """Whether the turn kept the uploaded file (a request, a flow's scratch data...)."""
    async with state.sessions() as db:
        return await attachments.is_referenced(db, name, channel=web.channel, chat_id=web.chat_id)


async def _read(state: WebState, web: WebSession, after: int | None) -> list[OutboxMessage]:
    async with state.sessions() as db:
        return await webchat.list_delivered(
            db, channel=web.channel, chat_id=web.chat_id, after=after, limit=PAGE
        )


@router.get("/messages")
async def messages(
    request: Request,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    web: WebSession = Depends(current_session),
) -> dict[str, Any]:
    """The chat's delivered messages after `after` (none: the latest ones); `more` when cut."""
    state = get_state(request)
    rows = await _read(state, web, after)
    more = after is not None and len(rows) == PAGE
    return {"messages": [render.render_row(r, state.settings) for r in rows], "more": more}


def _last_event_id(request: Request) -> int:
    """The Last-Event-ID header as a row id (0 when absent); anything else is refused."""
    value = request.headers.get("last-event-id", "").strip()
    if not value:
        return 0
    if not ID_TEXT.fullmatch(value) or int(value) > MAX_ID:
        raise ApiError(400, "web.bad_request", code="bad_request")
    return int(value)


async def _read_or_wait(
    state: WebState, web: WebSession, after: int
) -> tuple[list[OutboxMessage], float]:
    """The rows after `after` and how long to wait for a wake before reading again; when the
    database cannot serve the read (no connection free in time, a restart), none and a short
    wait: a busy database never ends a push stream."""
    try:
        return await _read(state, web, after), POLL_SECONDS
    except Exception as error:
        if not unavailable(error):
            raise
        state.metrics.count_error("events_read")
        return [], BUSY_RETRY_SECONDS


@router.get("/events")
async def events(
    request: Request,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    web: WebSession = Depends(current_session),
) -> StreamingResponse:
    """Server-sent events: the rows after `after` (or Last-Event-ID), then each new one."""
    state = get_state(request)
    start = max(after, _last_event_id(request))

    async def stream() -> AsyncIterator[str]:
        last = start
        yield "retry: 2000\n\n"
        with state.hub.subscribe(web.chat) as wake:
            while not state.hub.closing.is_set():
                wake.clear()  # before reading, so a row delivered meanwhile wakes us again
                rows, wait = await _read_or_wait(state, web, last)
                for row in rows:
                    last = row.id
                    data = json.dumps(render.render_row(row, state.settings), ensure_ascii=False)
                    yield f"id: {row.id}\nevent: message\ndata: {data}\n\n"
                if len(rows) == PAGE:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), timeout=wait)
                except TimeoutError:
                    yield ": ping\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
