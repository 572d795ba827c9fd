"""Button data: short, versioned, parsed strictly and never trusted; and the registry of the
actions a button may carry.

Format: ``v1:<action>:<arg>:<arg>...``; the whole string stays under Telegram's 64 bytes.
What a button names is re-checked against the database by the handler that receives it.

Every action is declared once, with `declare`, in its domain's ``bot/services/<domain>/actions.py``
(see docs/buttons.md): a readable name ("request.accept"), the short wire code buttons carry
("acc"), the names of its arguments and its version. Buttons are built through the action
(`ButtonAction.data`, `ButtonAction.button`) and handlers registered with it
(`Router.button(ACCEPT)`), so a wire code is written in exactly one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.messages import Button

VERSION = "v1"
MAX_BYTES = 64
# The widest argument a declared action is assumed to carry (a 32-bit id has 10 digits): its
# declaration is refused when even such arguments would not fit in MAX_BYTES.
ARG_WIDTH = 10

_CODE = re.compile(r"[a-z]{1,10}")
_NAME = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")
_ARG = re.compile(r"[a-z][a-z_]*")


@dataclass(frozen=True, slots=True)
class ButtonAction:
    """What a button asks for: declared once with `declare`, built with `data` or `button`.

    `code` is the short wire code of version 1; a later version (a changed meaning or argument
    list) carries the code with its version appended ("acc2"), so buttons sent before the
    change no longer reach the new handler and are answered as stale.
    """

    name: str
    code: str
    args: tuple[str, ...] = ()
    version: int = 1
    wire: str = field(init=False)

    def __post_init__(self) -> None:
        wire = self.code if self.version == 1 else f"{self.code}{self.version}"
        object.__setattr__(self, "wire", wire)

    def data(self, *args: object) -> str:
        """The button data asking for this action with these arguments."""
        if len(args) != len(self.args):
            raise TypeError(f"{self.name} takes {self.args}, got {len(args)} arguments")
        return encode(self.wire, *args)

    def button(self, label: str, *args: object) -> Button:
        """A button labelled `label` asking for this action with these arguments."""
        return Button(label, self.data(*args))


_BY_NAME: dict[str, ButtonAction] = {}
_BY_WIRE: dict[str, ButtonAction] = {}


def declare(name: str, code: str, *args: str, version: int = 1) -> ButtonAction:
    """Declare a button action; a name or wire code declared twice fails the import."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"button action name must read like 'request.accept': {name!r}")
    if not _CODE.fullmatch(code):
        raise ValueError(f"wire code of {name} must be 1-10 lowercase letters: {code!r}")
    if version < 1 or not all(_ARG.fullmatch(arg) for arg in args):
        raise ValueError(f"bad version or argument names for {name}: {version}, {args}")
    action = ButtonAction(name, code, tuple(args), version)
    widest = ":".join([VERSION, action.wire, *("9" * ARG_WIDTH for _ in args)])
    if len(widest.encode()) > MAX_BYTES:
        raise ValueError(f"{name}'s data could exceed {MAX_BYTES} bytes")
    if name in _BY_NAME:
        raise ValueError(f"button action {name!r} declared twice")
    if action.wire in _BY_WIRE:
        clash = _BY_WIRE[action.wire].name
        raise ValueError(f"wire code {action.wire!r} of {name} is already {clash}'s")
    _BY_NAME[name] = _BY_WIRE[action.wire] = action
    return action


def declared() -> tuple[ButtonAction, ...]:
    """Every action declared so far (import the action modules first), by name."""
    return tuple(sorted(_BY_NAME.values(), key=lambda action: action.name))


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
