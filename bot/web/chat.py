"""The chat API: messages in (text, button, location, photo), pushes out (SSE), replay by id.

Each POST becomes one `Incoming` on the session's channel; its update id is the page's
idempotency key scoped to the chat, so a retried POST is handled once. The answer returns
after the engine committed (and delivered the replies, when a sender is wired).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from bot.channels import webchat
from bot.config import Settings
from bot.core.outage import unavailable
from bot.i18n import pick_locale
from bot.messages import Incoming, Photo
from bot.services.storage import attachments
from bot.web import own, render, uploads
from bot.web.auth import WebSession
from bot.web.state import (
    ApiError,
    WebState,
    current_session,
    get_state,
    posting_session,
    request_locale,
)
from models import OutboxMessage, WebOwnMessage

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
    # Sent by the page itself (the first /start, a link's start code): not shown as the
    # person's own message.
    quiet: bool = False


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
    # The person's own message is kept now (bot.web.own): their other tabs show it at once,
    # even when no reply wakes them.
    state.hub.publish((incoming.channel, incoming.chat_id))
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
    if body.quiet:
        with own.quiet():
            return await _process(state, request, web, _from_body(web, body))
    return await _process(state, request, web, _from_body(web, body))


async def _person_locale(state: WebState, request: Request, web: WebSession) -> str:
    person = getattr(request.state, "person", None)  # loaded with the session
    language = person.language if person is not None else None
    return pick_locale(language, request_locale(request), state.settings.locale.default)


@router.post(PHOTO_ROUTE.removeprefix(router.prefix))
async def send_photo(
    request: Request, web: WebSession = Depends(posting_session)
) -> dict[str, Any]:
    """A photo (JPEG/PNG/WebP, size capped), with an optional caption; several picked together
    share a `group` and are answered once, like a Telegram album. Its body's size was
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
    group = form.get("group") or ""  # photos picked together: answered once (an album)
    if (
        not isinstance(upload, uploads.UploadFile)
        or not isinstance(key, str)
        or not re.fullmatch(KEY, key)
        or not isinstance(group, str)
        or not (group == "" or re.fullmatch(KEY, group))
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
    photos = (Photo(name, size),)
    return _incoming(
        web, key, "photo", language, photos=photos, text=caption.strip(), media_group=group
    )


async def _referenced(state: WebState, web: WebSession, name: str) -> bool:
    """Whether the turn kept the uploaded file (a request, a flow's scratch data...)."""
    async with state.sessions() as db:
        return await attachments.is_referenced(db, name, channel=web.channel, chat_id=web.chat_id)


Page = tuple[list[OutboxMessage], list[WebOwnMessage], bool]


async def _read(
    state: WebState, web: WebSession, after: int | None, mine_after: int | None
) -> Page:
    """The bot's delivered rows and the person's own messages after these cursors (none: the
    latest), and whether either was cut at a page."""
    async with state.sessions() as db:
        rows = await webchat.list_delivered(
            db, channel=web.channel, chat_id=web.chat_id, after=after, limit=PAGE
        )
        full = len(rows) == PAGE
        mine = await own.list_own(
            db,
            channel=web.channel,
            chat_id=web.chat_id,
            after=mine_after,
            rows=rows,
            full=full,
            limit=PAGE,
        )
    return rows, mine, full or len(mine) == PAGE


@router.get("/messages")
async def messages(
    request: Request,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    mine_after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    web: WebSession = Depends(current_session),
) -> dict[str, Any]:
    """The chat's delivered messages after `after` and the person's own after `mine_after`
    (none: the latest ones); `more` when cut. Own messages carry `after`: the bot message
    they follow."""
    state = get_state(request)
    since = None if after is None and mine_after is None else (after or 0)
    rows, mine, cut = await _read(state, web, since, None if since is None else mine_after or 0)
    return {
        "messages": [render.render_row(r, state.settings) for r in rows],
        "mine": [own.render_own(m, state.settings) for m in mine],
        "more": since is not None and cut,
    }


def _last_event_id(request: Request) -> tuple[int, int]:
    """The Last-Event-ID header as cursors: "<row id>.<own message id>" (a bare row id from
    an older page: no own cursor); (0, 0) when absent; anything else is refused."""
    value = request.headers.get("last-event-id", "").strip()
    if not value:
        return 0, 0
    parts = value.split(".")
    if len(parts) > 2 or not all(ID_TEXT.fullmatch(p) and int(p) <= MAX_ID for p in parts):
        raise ApiError(400, "web.bad_request", code="bad_request")
    return int(parts[0]), int(parts[1]) if len(parts) == 2 else 0


def _event(item: OutboxMessage | WebOwnMessage, cursors: str, settings: Settings) -> str:
    if isinstance(item, WebOwnMessage):
        data = json.dumps(own.render_own(item, settings), ensure_ascii=False)
        return f"id: {cursors}\nevent: mine\ndata: {data}\n\n"
    data = json.dumps(render.render_row(item, settings), ensure_ascii=False)
    return f"id: {cursors}\nevent: message\ndata: {data}\n\n"


async def _read_or_wait(
    state: WebState, web: WebSession, after: int, mine_after: int
) -> tuple[Page, float]:
    """What `_read` gives and how long to wait for a wake before reading again; when the
    database cannot serve the read (no connection free in time, a restart), nothing and a
    short wait: a busy database never ends a push stream."""
    try:
        # Spread over the last fifth of the period, so a thousand streams opened together do
        # not all re-read the outbox in the same instant.
        return await _read(state, web, after, mine_after), POLL_SECONDS * random.uniform(0.8, 1)
    except Exception as error:
        if not unavailable(error):
            raise
        state.metrics.count_error("events_read")
        return ([], [], False), BUSY_RETRY_SECONDS


@router.get("/events")
async def events(
    request: Request,
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    mine_after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    web: WebSession = Depends(current_session),
) -> StreamingResponse:
    """Server-sent events: the bot's rows after `after` and the person's own messages after
    `mine_after` (or as Last-Event-ID says), in order, then each new one. Each event's id
    holds both cursors."""
    state = get_state(request)
    header = _last_event_id(request)
    start = (max(after, header[0]), max(mine_after, header[1]))

    async def stream() -> AsyncIterator[str]:
        last, last_mine = start
        yield "retry: 2000\n\n"
        with state.hub.subscribe(web.chat) as wake:
            while not state.hub.closing.is_set():
                wake.clear()  # before reading, so a row delivered meanwhile wakes us again
                (rows, mine, cut), wait = await _read_or_wait(state, web, last, last_mine)
                items: list[OutboxMessage | WebOwnMessage] = [*rows, *mine]
                for item in sorted(items, key=own.order_key):
                    if isinstance(item, WebOwnMessage):
                        last_mine = item.id
                    else:
                        last = item.id
                    yield _event(item, f"{last}.{last_mine}", state.settings)
                if cut:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), timeout=wait)
                except TimeoutError:
                    yield ": ping\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
