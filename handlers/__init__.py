"""Conversation flows per role; no channel imports here. `build_router` wires them all."""

from __future__ import annotations

from bot.core.router import Router


def build_router() -> Router:
    """Every flow's handlers, registered in one router."""
    from handlers import (
        common,
        evaluate,
        my_requests,
        onboarding,
        privacy,
        report,
        staff_actions,
        staff_help,
        staff_queue,
        staff_work,
        whistle,
    )

    router = Router()
    for module in (staff_queue, staff_actions, staff_work, staff_help):
        router.include(module.router)
    for module in (common, onboarding, report, my_requests, evaluate, privacy, whistle):
        router.include(module.router)
    from handlers import meeting, meeting_details, meeting_manage, meeting_polls, meeting_resident

    for module in (meeting, meeting_details, meeting_manage, meeting_polls, meeting_resident):
        router.include(module.router)
    from handlers import admin, admin_broadcast, admin_invite, invite, upkeep, volunteer

    for module in (volunteer, invite, admin, admin_invite, admin_broadcast, upkeep):
        router.include(module.router)
    return router
