"""Pictures and files for the page, each fetch authorised for the caller.

`/api/photos/{name}`: an uploaded photo, to the people bot.web.media_rights allows.
`/api/media/{id}/{part}`: the picture or document of one delivered message, to that
message's chat only; gone (410) once the file expired.
`/api/remote-photos/{channel}/{file id}`: a photo another channel keeps by its file id (sent
on Telegram), to the same people as an upload: fetched through that channel the first time and
kept as a private copy (bot.services.storage.attachments.cached_copy: deleted with the
request's photo on erasure, expired by the upload sweep).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path as PathType
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse

from bot import files
from bot.channels.webchat import VISIBLE
from bot.services.storage import attachments
from bot.web import media_rights, render, uploads
from bot.web.auth import WebSession
from bot.web.state import ApiError, WebState, current_session, get_state
from models import OutboxMessage

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api")
FETCH_SECONDS = 20.0
MAX_REMOTE_BYTES = 20 * 1024 * 1024  # what a Telegram bot may download at most
MAX_ID = 2**63 - 1
PRIVATE = {"Cache-Control": "private, max-age=300"}


def _not_found() -> ApiError:
    return ApiError(404, "web.not_found", code="not_found")


@router.get("/photos/{name}")
async def photo(
    request: Request, name: str, web: WebSession = Depends(current_session)
) -> FileResponse:
    """An uploaded photo, when the caller may see it now (any other name or person: 404)."""
    state = get_state(request)
    path = attachments.photo_path(state.settings.webchat.upload_dir, name)
    if path is None:
        raise _not_found()
    async with state.sessions() as db:
        allowed = await media_rights.may_see_upload(
            db, name=name, person_id=web.person_id, channel=web.channel, chat_id=web.chat_id
        )
    if not allowed:
        raise _not_found()
    media_type = uploads.MEDIA_TYPES[path.suffix.lstrip(".")]
    return FileResponse(path, media_type=media_type, headers=PRIVATE)


async def _fetch(state: WebState, origin: str, file_id: str) -> bytes | None:
    """The photo's bytes from the channel that keeps it, or None when it cannot give them."""
    download = getattr(state.engine.outputs.get(origin), "download", None)
    if download is None:
        return None
    try:
        data = await asyncio.wait_for(download(file_id), timeout=FETCH_SECONDS)
    except Exception as error:  # the vendor's outage or refusal: the page shows no picture
        state.metrics.count_error("remote_photo")
        log.warning("photo %s from %s not fetched: %s", file_id[:12], origin, error)
        return None
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_REMOTE_BYTES:
        return None
    return bytes(data)


@router.get("/remote-photos/{origin}/{file_id}")
async def remote_photo(
    request: Request,
    origin: Annotated[str, Path(min_length=1, max_length=20)],
    file_id: Annotated[str, Path(min_length=1, max_length=300)],
    web: WebSession = Depends(current_session),
) -> FileResponse:
    """A photo another channel keeps, when the caller may see it (else 404)."""
    state = get_state(request)
    async with state.sessions() as db:
        allowed = await media_rights.may_see_remote(
            db, origin=origin, file_id=file_id, person_id=web.person_id
        )
    if not allowed:
        raise _not_found()
    path = attachments.cached_copy(state.settings.webchat.upload_dir, file_id)
    if not path.is_file():
        data = await _fetch(state, origin, file_id)
        if data is None or uploads.sniff(data[:16]) is None:  # a photo, or nothing
            raise _not_found()
        await asyncio.to_thread(files.write_private, path, data)
    kind = uploads.sniff(await asyncio.to_thread(_head, path))
    if kind is None:
        raise _not_found()
    return FileResponse(path, media_type=uploads.MEDIA_TYPES[kind], headers=PRIVATE)


def _head(path: PathType) -> bytes:
    with path.open("rb") as file:
        return file.read(16)


@router.get("/media/{row_id}/{part}")
async def message_file(
    request: Request,
    row_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    part: Literal["photo", "document"],
    web: WebSession = Depends(current_session),
) -> FileResponse:
    """The picture or document a message to this chat carries (another chat's: 404)."""
    state = get_state(request)
    async with state.sessions() as db:
        row = await db.get(OutboxMessage, row_id)
    if (
        row is None
        or (row.channel, row.chat_id) != web.chat
        or row.status not in VISIBLE
        or not isinstance(row.payload.get(part), str)
    ):
        raise _not_found()
    path = render.written_file(state.settings, row.payload[part])
    if path is None:
        raise ApiError(410, "web.media_expired", code="expired")
    if part == "photo":
        return FileResponse(path, media_type=render.media_type(path), headers=PRIVATE)
    name = row.payload.get("document_name") or path.name
    return FileResponse(path, media_type=render.media_type(path), filename=name, headers=PRIVATE)
