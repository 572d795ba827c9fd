"""Logging for `redgrid run`: one line per record, phone numbers and secrets masked.

Residents give us their phone numbers; those must never reach a log file (nor a traceback in
one). A filter on the root handler rewrites every record's final text: Chinese mobile numbers
(1[3-9]xxxxxxxxx, with or without +86/0086 and separators), other runs of 7+ digits that look
like phone numbers, and the values of configured secrets (bot token, webhook secret, session
secret, database password) are replaced before the line is written. Timestamps, ids and
request references ("JM-2026-000123") are left alone: they are not personal data.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"

# +86 / 0086 / 86 prefixes, optional separators inside: "+86 138-1234-5678", "13812345678".
# A JSON escape ("\\u6253") may sit right before the number in logged SQL parameters.
_JSON_ESCAPE = r"(?<=\\u[0-9a-fA-F]{4})"
_CN_MOBILE = re.compile(
    r"(?:(?<![A-Za-z0-9_-])|"
    + _JSON_ESCAPE
    + r")(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?![A-Za-z0-9_-])"
)
# Other phone-like runs: 7 or more digits, possibly split by spaces, dashes or parentheses
# ("0532-8888 6666", "(0532) 88886666", "+1 415 555 0100"), not glued to letters or to ids
# ("u1234567x", "test:1284"), not a decimal (coordinates) and not a date ("2026-11-24").
_PHONE_LIKE = re.compile(
    r"(?:(?<![A-Za-z0-9_.:/-])|"
    + _JSON_ESCAPE
    + r")\+?\(?\d(?:[\s\-()]{0,2}\d){6,}(?![A-Za-z0-9_.:/-])"
)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")


def _phone_like(match: re.Match[str]) -> str:
    """Mask a digit run unless it is a date or looks like a bare 9-10 digit id (update and
    Telegram user ids are that long; phone numbers that long have a + or a leading 0)."""
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    if _DATE.fullmatch(found.strip()):
        return found
    bare = found.isdigit() and not found.startswith("0")
    if bare and 9 <= len(digits) <= 10:
        return found
    return MASK


# Telegram bot tokens look like 123456789:AA...; mask them even when not configured here.
_BOT_TOKEN = re.compile(r"(?<!\d)\d{6,12}:[A-Za-z0-9_-]{30,}")


def mask_phones(text: str) -> str:
    """Replace phone numbers in `text` with a mask."""
    text = _CN_MOBILE.sub(MASK, text)
    return _PHONE_LIKE.sub(_phone_like, text)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message with phone numbers and known secrets masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """The text with secrets, bot tokens and phone numbers masked."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _BOT_TOKEN.sub(MASK, text)
        return mask_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        record.msg, record.args = self.mask(message), None
        return True


def secrets_of(settings: object) -> list[str]:
    """The secret values found in a Settings object (SecretStr fields and a database password)."""
    from pydantic import BaseModel, SecretStr
    from sqlalchemy.engine import make_url

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))

    walk(settings)
    url = getattr(getattr(settings, "database", None), "url", "")
    if url:
        try:
            password = make_url(url).password
        except Exception:  # a malformed URL has been refused by the settings already
            password = None
        if password:
            found.append(str(password))
    return found


def configure_logging(
    level: int | str = logging.INFO,
    *,
    settings: object | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Log to stderr (or `stream`), one line per record, masking phone numbers and the
    settings' secrets; returns the handler. Calling it again replaces the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_redgrid", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._redgrid = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskingFilter(secrets_of(settings) if settings is not None else ()))
    root.addHandler(handler)
    root.setLevel(level)
    # Vendor libraries log whole request URLs, which carry the bot token: keep them quiet.
    for noisy in ("httpx", "httpcore", "telegram.ext", "aiogram.event"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler


__all__ = ["MaskingFilter", "configure_logging", "mask_phones", "secrets_of"]
