"""How a delivered message reaches the page: every part of an `Outgoing` has a rendering.

Pictures (charts, QR codes, photos) become images the page shows as thumbnails; documents
(exports, printable notices) become file cards with name, size and a download link. No URL
names a file by a guessable name alone: uploads are checked per person on each fetch
(bot.web.media_rights), files the bot wrote are served by the message's id to its own chat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.config import Settings
from bot.services.cases import cards
from bot.web import uploads
from models import OutboxMessage

# Each field of `Outgoing` and the key of the page's message that renders it (a test checks
# that every field is here and really rendered).
RENDERED: dict[str, str] = {
    "text": "text",
    "buttons": "buttons",
    "reply_requests": "reply_requests",
    "remove_reply_keyboard": "remove_reply_keyboard",
    "photo": "images",
    "album": "images",
    "document": "files",
    "document_name": "files",
    "edit_message_id": "edit",
    "menu": "menu",
}
MEDIA_TYPES = {
    **{f".{suffix}": kind for suffix, kind in uploads.MEDIA_TYPES.items()},
    ".jpeg": "image/jpeg",
    ".pdf": "application/pdf",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})


def media_type(path: Path) -> str:
    """The content type a file is served with."""
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def _roots(settings: Settings) -> tuple[Path, ...]:
    return tuple(
        folder.resolve()
        for folder in (
            settings.stats.export_dir,
            settings.meetings.notice_dir,
            settings.webchat.upload_dir,
        )
    )


def written_file(settings: Settings, value: str) -> Path | None:
    """The file a message's photo or document names, when it is one the bot wrote (an
    export, a chart, a notice, an upload) and still exists; None otherwise."""
    if uploads.NAME.fullmatch(value):
        path = (settings.webchat.upload_dir / value).resolve()
    elif "/" in value:  # a path the bot wrote; channel file ids have no slash
        path = Path(value).resolve()
        if not any(path.is_relative_to(root) for root in _roots(settings)):
            return None
    else:
        return None  # another channel's file id: not ours to serve
    return path if path.is_file() else None


def _local(value: object) -> bool:
    return isinstance(value, str) and "/" in value and not uploads.NAME.fullmatch(value)


def _upload(value: str, settings: Settings) -> str | None:
    """The name of a web chat upload a message shows, by name or by its path, else None."""
    name = value.rsplit("/", 1)[-1]
    if not uploads.NAME.fullmatch(name):
        return None
    if value == name or Path(value).resolve().parent == settings.webchat.upload_dir.resolve():
        return name
    return None


def remote_url(value: str) -> str | None:
    """The page's address of another channel's photo (`cards.remote_photo`), else None."""
    if not value.startswith(cards.REMOTE):
        return None
    origin, _, file_id = value.removeprefix(cards.REMOTE).partition(":")
    if not origin or not file_id:
        return None
    return f"/api/remote-photos/{quote(origin, safe='')}/{quote(file_id, safe='')}"


def _album(value: object, settings: Settings) -> dict[str, Any] | None:
    """A photo of an album: the chat's uploads, and other channels' photos the sender fitted
    to the web (fetched when opened); the text says how many photos there are."""
    if not isinstance(value, str):
        return None
    if (remote := remote_url(value)) is not None:
        return {"url": remote}
    name = _upload(value, settings)
    return {"url": f"/api/photos/{name}"} if name else None


def _edit(payload: dict[str, Any]) -> int | None:
    """The id of the message an edit replaces (ours are numbers; another's is a new one)."""
    edits = str(payload.get("edit_message_id") or "")
    return int(edits) if edits.isdigit() else None


def _image(row: OutboxMessage, value: object, settings: Settings) -> dict[str, Any]:
    if not isinstance(value, str) or not value:
        return {"unavailable": True}
    if uploads.NAME.fullmatch(value):
        return {"url": f"/api/photos/{value}"}
    if (remote := remote_url(value)) is not None:
        return {"url": remote}
    if _local(value):
        if written_file(settings, value) is None:
            return {"expired": True}
        return {"url": f"/api/media/{row.id}/photo"}
    return {"unavailable": True}  # a photo another channel keeps


def _file(row: OutboxMessage, payload: dict[str, Any], settings: Settings) -> dict[str, Any]:
    value = payload.get("document")
    name = payload.get("document_name") or (Path(value).name if isinstance(value, str) else "")
    path = written_file(settings, value) if isinstance(value, str) else None
    if path is None:
        return {"name": name, "expired": True}
    return {
        "name": name,
        "size": path.stat().st_size,
        "type": media_type(path),
        "url": f"/api/media/{row.id}/document",
    }


def render_row(row: OutboxMessage, settings: Settings) -> dict[str, Any]:
    """One delivered message as the page gets it."""
    payload = row.payload
    images = []
    if payload.get("photo"):
        images.append(_image(row, payload["photo"], settings))
    album = [_album(value, settings) for value in payload.get("album", [])]
    images += [image for image in album if image is not None]
    files = [_file(row, payload, settings)] if payload.get("document") else []
    menu = payload.get("menu")
    return {
        "id": row.id,
        "text": payload.get("text", ""),
        "buttons": payload.get("buttons", []),
        "reply_requests": payload.get("reply_requests", []),
        "remove_reply_keyboard": bool(payload.get("remove_reply_keyboard", False)),
        "images": images,
        "files": files,
        "edit": _edit(payload),
        "menu": list(menu["roles"]) if isinstance(menu, dict) else None,
        "at": row.created_at.isoformat() if row.created_at else None,
    }
