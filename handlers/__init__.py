"""Conversation flows per role, grouped by domain like `bot.services`; no channel imports here.
`build_router` wires them all."""

from __future__ import annotations

from bot.core.router import Router


def build_router() -> Router:
    """Every flow's handlers, registered in one router (staff flows first: their commands win)."""
    from handlers import common
    from handlers.cases import (
        chat_reply,
        evaluate,
        my_requests,
        report,
        report_choices,
        report_similar,
        staff_actions,
        staff_card,
        staff_help,
        staff_queue,
        staff_work,
    )
    from handlers.cobuild import board as cobuild_board
    from handlers.cobuild import members as cobuild_members
    from handlers.cobuild import needs as cobuild_needs
    from handlers.cobuild import projects as cobuild_projects
    from handlers.cobuild import property_ratings as cobuild_property
    from handlers.cobuild import ranking as cobuild_ranking
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
        report_choices,
        report_similar,
        chat_reply,
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
        cobuild_members,
        cobuild_needs,
        cobuild_projects,
        cobuild_board,
        cobuild_ranking,
        cobuild_property,
    ):
        router.include(module.router)
    return router
