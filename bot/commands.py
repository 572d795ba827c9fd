"""The commands each role has, and how they are described (the `telegram.cmd.*` messages):
Telegram's per-chat command menus, the web chat's bottom menu and /help all read them here."""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import t

RESIDENT_COMMANDS = ("start", "new", "my", "menu", "language", "privacy", "help", "cancel")
# Anyone may be an in-service party member (在职党员): reporting in and the hours ledger are
# offered to everyone, after the resident's own commands.
MEMBER_COMMANDS = ("board", "reportin", "hours")
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
        # Co-building in the communities they administer (dual reporting).
        "needs",
        "need",
        "callout",
        "ranking",
        "propertypoll",
        "property",
    ),
}


# Roles from the one that works most: whose menu and daily commands a person with several sees.
LEADING = ("admin", "grid_staff", "steward", "volunteer", "unit_liaison")
# What each role does every day: the first lines of its /help (the rest one tap away).
DAILY_COMMANDS: dict[str, tuple[str, ...]] = {
    "admin": ("stats", "queue", "broadcast"),
    "grid_staff": ("queue", "find", "whistle"),
    "steward": ("queue", "find", "upkeep"),
    "volunteer": ("mytasks", "myhours"),
    "unit_liaison": ("pledge", "progress", "complete"),
}
DAILY_AT_MOST = 4


def daily_commands(roles: Iterable[str], locale: str) -> list[tuple[str, str]]:
    """(command, description) of what these roles do every day, the leading role's first;
    at most four, none for a resident (or a department's liaison, who works from summons)."""
    held = set(roles)
    names: list[str] = []
    for role in LEADING:
        if role in held:
            names += [name for name in DAILY_COMMANDS[role] if name not in names]
    return [(name, t(locale, f"telegram.cmd.{name}")) for name in names[:DAILY_AT_MOST]]


def command_list(
    roles: Iterable[str], locale: str, known: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """(command, description) pairs for a person with these roles; with `known`, only those
    commands (the router's). The one place the menus are computed."""
    names: list[str] = [*RESIDENT_COMMANDS, *MEMBER_COMMANDS]
    for role in sorted(set(roles)):
        names += [n for n in ROLE_COMMANDS.get(role, ()) if n not in names]
    if known is not None:
        available = set(known)
        names = [name for name in names if name in available]
    return [(name, t(locale, f"telegram.cmd.{name}")) for name in names]
