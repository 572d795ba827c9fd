"""Conversation flows per role; no channel imports here. `build_router` wires them all."""

from __future__ import annotations

from bot.core.router import Router


def build_router() -> Router:
    """Every flow's handlers, registered in one router."""
    from handlers import common, evaluate, my_requests, onboarding, privacy, report

    router = Router()
    for module in (common, onboarding, report, my_requests, evaluate, privacy):
        router.include(module.router)
    return router
