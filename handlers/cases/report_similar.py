"""Neighbours' open requests like the one being reported, offered on the draft: "我也遇到了"
follows one instead of submitting a new request."""

from __future__ import annotations

from collections.abc import Sequence

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.messages import Button
from bot.services.cases import actions, announce, workflow
from bot.services.cases import lookup as request_service
from handlers.cases.render import status_name, when
from handlers.common import show_main_menu, stale_button
from models import Category, Request

router = Router()


async def _similar(ctx: Context, category: Category, *, limit: int) -> Sequence[Request]:
    return await request_service.list_similar_open(
        ctx.session,
        category_id=category.id,
        building_id=ctx.person.building_id,
        compound_id=ctx.person.compound_id,
        exclude_reporter_id=ctx.person.id,
        now=ctx.now,
        days=ctx.settings.requests.similar_days,
        limit=limit,
    )


async def offer(ctx: Context, category: Category) -> tuple[list[str], list[list[Button]]]:
    """Lines and "me too" buttons for the draft; nothing when there is no similar request."""
    similar = await _similar(ctx, category, limit=3)
    if not similar:
        return [], []
    lines = ["", ctx.t("rep.similar_found")]
    rows = []
    for request in similar:
        # Only the reference, status and date: a neighbour's words may name people or phones.
        lines.append(
            f"{request.reference} · {status_name(ctx, request.status)} · "
            f"{when(ctx, request.created_at)}"
        )
        rows.append(
            [actions.ME_TOO.button(ctx.t("rep.me_too", reference=request.reference), request.id)]
        )
    return lines, rows


@router.button(actions.ME_TOO)
async def me_too(ctx: Context, data: ButtonData) -> None:
    from handlers.cases.report import S_COLLECT

    request = await ctx.session.get(Request, data.int_arg() or 0)
    slug = ctx.data.get("category") or ctx.data.get("suggested") or ""
    category = await request_service.get_category(ctx.session, slug=slug)
    if ctx.state != S_COLLECT or request is None or category is None:
        await stale_button(ctx)
        return
    # Re-check: the request must still be one this person could have been offered.
    offered = await _similar(ctx, category, limit=50)
    if request.id not in {r.id for r in offered}:
        await stale_button(ctx)
        return
    if await workflow.follow(ctx.session, request=request, person=ctx.person, now=ctx.now):
        await announce.followed(ctx.session, request=request, settings=ctx.settings)
    ctx.say("rep.following", reference=request.reference)
    show_main_menu(ctx)
