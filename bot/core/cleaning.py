"""Incoming updates made safe to store and to show: text no database or channel chokes on,
no control that reorders what other people read, numbers an INTEGER column holds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.messages import Incoming

_TEXT_FIELDS = (
    "text",
    "command",
    "args",
    "button_data",
    "display_name",
    "contact_phone",
    "document_name",
)
# NUL cannot be stored by PostgreSQL. Bidirectional controls (embeddings, overrides, isolates,
# marks) would let one person's words reorder what others read around them: a name that
# flips the text after it, a reference that reads as another.
_DROPPED = dict.fromkeys(
    [0x00, 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def _clean_text(value: str) -> str:
    value = value.translate(_DROPPED)
    try:  # lone surrogates cannot be encoded at all
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def _count(value: int | None) -> int | None:
    """A size or duration as the channel reported it, or None (unknown) when no real file
    could have it: negative, or past what an INTEGER column holds."""
    return value if value is not None and 0 <= value < 2**31 else None


def clean(incoming: Incoming) -> Incoming:
    """The update with text and numbers no database or channel would choke on."""
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(incoming, name)
        cleaned = _clean_text(value) if value else value
        if cleaned != value:
            changes[name] = cleaned
    if any(_count(p.file_size) != p.file_size for p in incoming.photos):
        changes["photos"] = tuple(
            replace(p, file_size=_count(p.file_size)) for p in incoming.photos
        )
    if _count(incoming.voice_duration) != incoming.voice_duration:
        changes["voice_duration"] = _count(incoming.voice_duration)
    return replace(incoming, **changes) if changes else incoming
