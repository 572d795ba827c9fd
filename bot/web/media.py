"""Pictures and files for the page, each fetch authorised for the caller.

`/api/photos/{name}`: an uploaded photo, to the people bot.web.media_rights allows.
`/api/media/{id}/{part}`: the picture or document of one delivered message, to that
message's chat only; gone (410) once the file expired.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import FileResponse

from bot.channels.webchat import VISIBLE
from bot.services.storage import attachments
from bot.web import media_rights, render, uploads
from bot.web.auth import WebSession
from bot.web.state import ApiError, current_session, get_state
from models import OutboxMessage

router = APIRouter(prefix="/api")
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
