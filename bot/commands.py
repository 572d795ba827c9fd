"""The commands each role has, and how they are described (the `telegram.cmd.*` messages):
Telegram's per-chat command menus, the web chat's bottom menu and /help all read them here."""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import t

RESIDENT_COMMANDS = ("start", "new", "my", "menu", "language", "privacy", "help", "cancel")
# Extra commands per role, shown in the chats of people holding it (when the router has them).
# Department liaisons work from the summons pushed to them: no commands of their own.
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "grid_staff": ("queue", "find", "whistle", "meeting", "meetings"),
    "steward": ("queue", "find", "upkeep"),
    "department_liaison": (),
    "volunteer": ("mytasks", "myhours", "skills", "team"),
    # A reporting unit's liaison (dual reporting): pledge, report progress, complete.
    "unit_liaison": ("pledge", "progress", "complete"),
    "admin": (
        "queue",
        "find",
        "stats",
        "export",
        "broadcast",
        "meeting",
        "meetings",
        "assign",
        "escalate",
        "grant",
        "revoke",
        "invite",
        "upkeep",
    ),
}


def command_list(
    roles: Iterable[str], locale: str, known: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """(command, description) pairs for a person with these roles; with `known`, only those
    commands (the router's). The one place the menus are computed."""
    names: list[str] = list(RESIDENT_COMMANDS)
    for role in sorted(set(roles)):
        names += [n for n in ROLE_COMMANDS.get(role, ()) if n not in names]
    if known is not None:
        available = set(known)
        names = [name for name in names if name in available]
    return [(name, t(locale, f"telegram.cmd.{name}")) for name in names]
