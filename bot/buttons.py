"""Button data: short, versioned, parsed strictly and never trusted.

Format: ``v1:<action>:<arg>:<arg>...``; the whole string stays under Telegram's 64 bytes.
What a button names is re-checked against the database by the handler that receives it.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "v1"
MAX_BYTES = 64


@dataclass(frozen=True, slots=True)
class ButtonData:
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int = 0) -> int | None:
        """The argument at `index` as a non-negative int, or None when absent or malformed."""
        try:
            return parse_id(self.args[index])
        except IndexError:
            return None


def parse_id(value: str) -> int | None:
    """A row id someone sent (button data, a deep link's payload), or None when it is not a
    non-negative number an id column can hold."""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    # Ids are 32-bit integer columns: a larger number names nothing (and PostgreSQL would
    # refuse to compare it).
    return number if number < 2**31 else None


def encode(action: str, *args: object) -> str:
    """Encode an action and its arguments as button data."""
    data = ":".join([VERSION, action, *(str(arg) for arg in args)])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button data too long: {data!r}")
    return data


def decode(data: str) -> ButtonData | None:
    """Parse button data; None when it is not ours, stale (other version) or malformed."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 2 or parts[0] != VERSION or not parts[1]:
        return None
    return ButtonData(parts[1], tuple(parts[2:]))
