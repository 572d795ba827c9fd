"""The web chat's persistent bottom menu and start screen, per role, like a WeChat service
account's: two buttons for the role's daily work and "更多" listing the rest of its commands
(bot/commands.py, described as in Telegram's menu). People with several roles get the menu of
the one that works most (admin, then grid staff, steward, volunteer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.commands import LEADING, MEMBER_COMMANDS, RESIDENT_COMMANDS, command_list
from bot.i18n import t

# The two main buttons per role (label key, command); a command ending in a space needs words
# after it, so the page puts it in the input box instead of sending it.
MAIN: dict[str, tuple[tuple[str, str], ...]] = {
    "resident": (("web.menu.new", "/new"), ("web.menu.my", "/my")),
    "grid_staff": (("web.menu.queue", "/queue"), ("web.menu.find", "/find ")),
    "steward": (("web.menu.queue", "/queue"), ("web.menu.find", "/find ")),
    "volunteer": (("web.menu.tasks", "/mytasks"), ("web.menu.hours", "/myhours")),
    "admin": (("web.menu.stats", "/stats"), ("web.menu.broadcast", "/broadcast")),
    "unit_liaison": (("web.menu.pledge", "/pledge"), ("web.menu.progress", "/progress")),
}
# Where each role opens: its work, not the resident welcome.
HOME = {
    "admin": "/stats",
    "grid_staff": "/queue",
    "steward": "/queue",
    "volunteer": "/mytasks",
    "unit_liaison": "/pledge",
}
NEEDS_WORDS = frozenset({"find", "assign", "escalate", "grant", "revoke", "complete", "need"})


def leading_role(roles: Iterable[str]) -> str:
    """The role whose menu a person sees."""
    held = set(roles)
    return next((role for role in LEADING if role in held), "resident")


def page_menu(roles: Iterable[str], locale: str, *, registered: bool = False) -> dict[str, Any]:
    """The bottom menu for these roles: main buttons, the "more" list, and the home command (a
    resident with an address opens on the menu, not on registering again)."""
    roles = tuple(roles)
    lead = leading_role(roles)
    main = [[t(locale, key), command] for key, command in MAIN[lead]]
    shown = {command.strip() for _, command in main}
    listed = [
        (name, description)
        for name, description in command_list(roles, locale)
        if f"/{name}" not in shown and name != "cancel"
    ]
    # Staff find their work first; everyone's own commands (as a resident) follow.
    everyone = {*RESIDENT_COMMANDS, *MEMBER_COMMANDS}
    listed.sort(key=lambda item: item[0] in everyone)
    more = [
        [f"/{name} {description}", f"/{name} " if name in NEEDS_WORDS else f"/{name}"]
        for name, description in listed
    ]
    return {
        "main": main,
        "more": more,
        "home": HOME.get(lead, "/menu" if registered else "/start"),
        "role": lead,
    }
