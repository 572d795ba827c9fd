"""Uploaded files and the rows that refer to them: a file is kept while a request, a volunteer
task, a broadcast or a flow in progress (a chat's scratch data) names it; the rest are deleted.

Outbox rows are not searched: every photo a message carries is held by one of those rows too,
and the outbox is by far the largest table.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot import files
from bot.config import Settings
from bot.sweeps import sweep
from models import Broadcast, Conversation, RequestPhoto, VolunteerTask

log = logging.getLogger(__name__)

# A stored upload's name (bot.web.uploads generates them; the WeChat channel too, for the
# photos and voice notes it downloads); nothing else in the folder is ours.
NAME = re.compile(r"[0-9a-f]{32}\.(?:jpg|png|webp|amr)")
SUFFIXES = (".jpg", ".png", ".webp", ".amr")
BATCH = 500
# Columns holding one file name, and JSON columns holding names among other data.
_EXACT: tuple[InstrumentedAttribute[Any], ...] = (RequestPhoto.file_id, Broadcast.photo)
_JSON: tuple[InstrumentedAttribute[Any], ...] = (VolunteerTask.photos, Conversation.data)


REMOTE_DIR = "remote"


def cached_copy(directory: Path, file_id: str) -> Path:
    """Where a copy of another channel's photo (a Telegram file id) is kept once the web chat
    fetched it: named by a digest of the id, so erasing the id's row finds and deletes it."""
    digest = hashlib.sha256(file_id.encode()).hexdigest()[:32]
    return directory / REMOTE_DIR / f"{digest}.img"


def photo_path(directory: Path, name: str) -> Path | None:
    """The stored file called `name`, or None when the name is not one we generate."""
    if not NAME.fullmatch(name):
        return None
    path = directory / name
    return path if path.is_file() else None


def _mentions(column: InstrumentedAttribute[Any], names: Iterable[str]) -> ColumnElement[bool]:
    text = cast(column, String)
    return or_(*(text.contains(name, autoescape=True) for name in names))


async def is_referenced(session: AsyncSession, name: str, *, channel: str, chat_id: str) -> bool:
    """Whether a row names the file `name` uploaded in this chat (a flow in progress can only
    have put it in this chat's scratch data, the usual place: looked at first)."""
    statements = [
        select(Conversation.channel).where(
            Conversation.channel == channel,
            Conversation.chat_id == chat_id,
            _mentions(Conversation.data, [name]),
        ),
        *(select(column).where(column == name).limit(1) for column in _EXACT),
        select(VolunteerTask.id).where(_mentions(VolunteerTask.photos, [name])).limit(1),
    ]
    for statement in statements:
        if (await session.execute(statement)).first() is not None:
            return True
    return False


async def referenced(session: AsyncSession, names: Sequence[str]) -> set[str]:
    """The names among `names` that some row refers to."""
    found: set[str] = set()
    for start in range(0, len(names), BATCH):
        batch = names[start : start + BATCH]
        for column in _EXACT:
            found.update(await session.scalars(select(column).where(column.in_(batch))))
    # JSON columns: read the rows naming any upload at all, and pick the names out.
    for json_column in _JSON:
        texts = select(cast(json_column, String)).where(_mentions(json_column, SUFFIXES))
        for text in await session.scalars(texts):
            found.update(NAME.findall(text or ""))
    return found & set(names)


def stored_before(directory: Path, cutoff: datetime) -> list[str]:
    """Names of the uploads in `directory` last written before `cutoff`."""
    if not directory.is_dir():
        return []
    limit = cutoff.timestamp()
    return sorted(
        path.name
        for path in directory.iterdir()
        if NAME.fullmatch(path.name) and path.is_file() and path.stat().st_mtime < limit
    )


def delete_files(directory: Path, names: Iterable[str]) -> int:
    """Delete these uploads, and the copies fetched of these other channels' file ids;
    returns how many were there."""
    deleted = 0
    for name in names:
        path = directory / name if NAME.fullmatch(name) else cached_copy(directory, name)
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        deleted += 1
    return deleted


@sweep("upload_sweep", description="delete uploads no row refers to")
async def sweep_orphans(session: AsyncSession, *, now: datetime, settings: Settings) -> int:
    """Delete uploads older than scheduler.orphan_upload_hours that no row refers to."""
    directory = settings.webchat.upload_dir
    cutoff = now - timedelta(hours=settings.scheduler.orphan_upload_hours)
    # Fetched copies of other channels' photos: fetched again when next opened.
    files.expire(directory / REMOTE_DIR, before=cutoff)
    old = stored_before(directory, cutoff)
    if not old:
        return 0
    orphans = sorted(set(old) - await referenced(session, old))
    deleted = delete_files(directory, orphans)
    if deleted:
        log.info("deleted %d uploaded files no row refers to", deleted)
    return deleted
