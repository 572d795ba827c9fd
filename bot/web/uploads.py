"""Photo uploads: type checked by magic bytes, size capped, stored under a generated name."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

from starlette.datastructures import UploadFile

CHUNK = 64 * 1024
# A stored file's name: what `store_photo` generates, and all `photo_path` accepts.
NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


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
    data = bytearray()
    while chunk := await upload.read(CHUNK):
        data += chunk
        if len(data) > max_bytes:
            raise UploadRefused("web.photo_too_large")
    if not data:
        raise UploadRefused("web.photo_empty")
    kind = sniff(bytes(data[:16]))
    if kind is None:
        raise UploadRefused("web.photo_type")
    name = f"{uuid.uuid4().hex}.{kind}"
    await asyncio.to_thread(_write, directory, name, bytes(data))
    return name, len(data)


def _write(directory: Path, name: str, data: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def photo_path(directory: Path, name: str) -> Path | None:
    """The stored file called `name`, or None when the name is not one we generate."""
    if not NAME.fullmatch(name):
        return None
    path = directory / name
    return path if path.is_file() else None
