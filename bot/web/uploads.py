"""Photo uploads: type checked by magic bytes, size capped, stored under a generated name."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import BinaryIO

from starlette.datastructures import UploadFile

from bot.services.storage import attachments

CHUNK = 64 * 1024
# A stored file's name: what `store_photo` generates, and all `attachments.photo_path` accepts.
NAME = attachments.NAME
# amr: voice notes residents sent on WeChat (served to staff as they are; never uploaded here).
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "amr": "audio/amr"}


class UploadRefused(Exception):
    """The upload is not an accepted photo; `key` is the catalog message to show."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def sniff(head: bytes) -> str | None:
    """The photo type of a file's first bytes ('jpg', 'png', 'webp'), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


async def store_photo(upload: UploadFile, *, directory: Path, max_bytes: int) -> tuple[str, int]:
    """Check and store an uploaded photo; returns (stored name, size). The client's file name
    is never used. Raises UploadRefused('web.photo_type' | 'web.photo_too_large' | ...)."""
    await upload.seek(0)
    return await asyncio.to_thread(_copy, upload.file, directory, max_bytes)


def _copy(source: BinaryIO, directory: Path, max_bytes: int) -> tuple[str, int]:
    """Copy the photo chunk by chunk (never all of it in memory) into a new owner-only file."""
    head = source.read(CHUNK)
    if not head:
        raise UploadRefused("web.photo_empty")
    kind = sniff(head[:16])
    if kind is None:
        raise UploadRefused("web.photo_type")
    name = f"{uuid.uuid4().hex}.{kind}"
    path = _private_folder(directory) / name
    size = 0
    try:
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused("web.photo_too_large")
                out.write(chunk)
                chunk = source.read(CHUNK)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size


def _private_folder(directory: Path) -> Path:
    """The upload folder, readable by this user only (photos of people's homes)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o077:
        directory.chmod(0o700)
    return directory


def discard(directory: Path, name: str) -> None:
    """Delete an upload no flow took."""
    attachments.delete_files(directory, [name])
