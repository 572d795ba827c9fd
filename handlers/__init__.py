"""Conversation flows per role, grouped by domain like `bot.services`; no channel imports here.
`build_router` wires them all."""

from __future__ import annotations

from importlib import import_module

from bot.core.router import Router

# Every flow module, by domain; staff flows first (their commands win).
FLOWS = (
    "cases.staff_queue",
    "cases.staff_actions",
    "cases.staff_card",
    "cases.staff_work",
    "cases.staff_help",
    "common",
    "org.onboarding",
    "cases.report",
    "cases.report_choices",
    "cases.report_similar",
    "cases.chat_reply",
    "cases.my_requests",
    "cases.evaluate",
    "org.privacy",
    "whistles.whistle",
    "meetings.convene",
    "meetings.details",
    "meetings.manage",
    "meetings.polls",
    "meetings.resident",
    "volunteers.volunteer",
    "org.invite",
    "org.admin",
    "org.admin_invite",
    "comms.broadcast",
    "dispatch.upkeep",
    "cobuild.members",
    "cobuild.callouts",
    "cobuild.needs",
    "cobuild.projects",
    "cobuild.pledging",
    "cobuild.board",
    "cobuild.ranking",
    "cobuild.property_ratings",
    "cobuild.liaisons",
)


def build_router() -> Router:
    """Every flow's handlers, registered in one router."""
    router = Router()
    for name in FLOWS:
        router.include(import_module(f"handlers.{name}").router)
    return router
