"""Domain errors. Each carries a message key so channels can answer in the person's language."""

from __future__ import annotations

from typing import Any


class RedgridError(Exception):
    """Base of every domain error."""


class ConfigError(RedgridError):
    """The configuration is invalid; the message names the key and what is allowed."""


class ImportFileError(RedgridError):
    """An org file is invalid; the message names the line and field."""


class UserFacingError(RedgridError):
    """An error a person caused and should be told about, as a catalog message key."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class NotAllowed(UserFacingError):
    """The person lacks the right for what they tried; nothing was changed."""


class InvalidTransition(UserFacingError):
    """The request cannot move from its status by this action."""


class NotFound(UserFacingError):
    """What the person referred to does not exist (or is not theirs to see)."""
