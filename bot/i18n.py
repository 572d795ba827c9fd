"""Message catalogs (gettext .po files read with Babel), Chinese default, English second.

Message ids are stable keys such as ``core.help``; each feature keeps its own catalog domain
(``bot/locales/<locale>/LC_MESSAGES/<domain>.po``) so flows can be added without touching
each other's files. Catalogs are read once, at first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES: tuple[str, ...] = ("zh", "en")
DEFAULT_LOCALE = "zh"


@cache
def catalog(locale: str) -> dict[str, str]:
    """Every message of one locale, all domains merged."""
    messages: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return messages


def pick_locale(setting: str | None, client_language: str | None, default: str) -> str:
    """The person's own setting, else their client's language, else the default."""
    for candidate in (setting, client_language):
        if candidate:
            short = candidate.split("-")[0].split("_")[0].lower()
            if short in LOCALES:
                return short
    return default


def t(locale: str, key: str, /, **params: Any) -> str:
    """The message `key` in `locale`, formatted with `params`; falls back to Chinese."""
    text = catalog(locale).get(key) or catalog(DEFAULT_LOCALE).get(key)
    if text is None:
        raise KeyError(f"no message {key!r} in the catalogs")
    return text.format(**params) if params else text


class Translator:
    """`t` bound to one locale, handed to handlers and renderers."""

    __slots__ = ("locale",)

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, key: str, /, **params: Any) -> str:
        return t(self.locale, key, **params)
