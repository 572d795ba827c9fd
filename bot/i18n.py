"""Message catalogs (gettext .po files read with Babel), Chinese default, English second.

Message ids are stable keys such as ``core.help``; each feature keeps its own catalog domain
(``bot/locales/<locale>/LC_MESSAGES/<domain>.po``) so flows can be added without touching
each other's files. Catalogs are read once, at first use.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
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


# How a moment reads, the same in every message: "12月6日 14:32" / "6 Dec 14:32", with the year
# when it is not the current one.
MOMENT_PATTERNS = {
    "zh": ("M月d日 HH:mm", "y年M月d日 HH:mm"),
    "en": ("d MMM HH:mm", "d MMM y HH:mm"),
}
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}


def moment(value: datetime | None, locale: str, tz: tzinfo, *, now: datetime | None = None) -> str:
    """A moment in the district's time zone as people read it; "-" for none. The year shows
    when `now` is given and falls in another year."""
    if value is None:
        return "-"
    local = value.astimezone(tz)
    short, with_year = MOMENT_PATTERNS.get(locale, MOMENT_PATTERNS[DEFAULT_LOCALE])
    other_year = now is not None and now.astimezone(tz).year != local.year
    pattern = with_year if other_year else short
    return format_datetime(local, pattern, locale=BABEL_LOCALES.get(locale, "zh_Hans_CN"))


class Translator:
    """`t` bound to one locale, handed to handlers and renderers."""

    __slots__ = ("locale",)

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, key: str, /, **params: Any) -> str:
        return t(self.locale, key, **params)
