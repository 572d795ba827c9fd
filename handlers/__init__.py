"""Conversation flows per role, grouped by domain like `bot.services`; no channel imports here.
`build_router` wires them all."""

from __future__ import annotations

from bot.core.router import Router


def build_router() -> Router:
    """Every flow's handlers, registered in one router (staff flows first: their commands win)."""
    from handlers import common
    from handlers.cases import (
        evaluate,
        my_requests,
        report,
        staff_actions,
        staff_card,
        staff_help,
        staff_queue,
        staff_work,
    )
    from handlers.comms import broadcast
    from handlers.dispatch import upkeep
    from handlers.meetings import convene, details, manage, polls, resident
    from handlers.org import admin, admin_invite, invite, onboarding, privacy
    from handlers.volunteers import volunteer
    from handlers.whistles import whistle

    router = Router()
    for module in (
        staff_queue,
        staff_actions,
        staff_card,
        staff_work,
        staff_help,
        common,
        onboarding,
        report,
        my_requests,
        evaluate,
        privacy,
        whistle,
        convene,
        details,
        manage,
        polls,
        resident,
        volunteer,
        invite,
        admin,
        admin_invite,
        broadcast,
        upkeep,
    ):
        router.include(module.router)
    return router
