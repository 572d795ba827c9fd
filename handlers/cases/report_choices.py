"""What the resident may change on a report's draft: the category, the urgency (with a reason
when urgent), where it is (a common area or their own flat, and the flat's room)."""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.cases import actions
from bot.services.cases import lookup as request_service
from handlers.cases import report
from handlers.common import stale_button
from models import Priority

router = Router()

S_REASON = "rep.urgent_reason"
S_ROOM = "rep.room"
ROOM_AT_MOST = 40


@router.button(actions.REPORT_COLLECTED, actions.SUBMIT_ANYWAY)
async def old_step(ctx: Context, _data: ButtonData) -> None:
    """完成 and 仍然新提交 of a report begun before it became one draft: show the draft."""
    if ctx.state != report.S_COLLECT:
        await stale_button(ctx)
        return
    await report.show_draft(ctx)


@router.button(actions.ALL_CATEGORIES)
async def category_list(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != report.S_COLLECT:
        await stale_button(ctx)
        return
    await report.list_categories(ctx)


@router.button(actions.PICK_CATEGORY)
async def category_chosen(ctx: Context, data: ButtonData) -> None:
    category = await request_service.get_category(
        ctx.session, slug=data.args[0] if data.args else ""
    )
    if ctx.state != report.S_COLLECT or category is None:
        await stale_button(ctx)
        return
    ctx.update_data(category=category.slug)
    await report.show_draft(ctx)


@router.button(actions.PICK_PLACE)
async def place_chosen(ctx: Context, data: ButtonData) -> None:
    place = data.args[0] if data.args else ""
    if ctx.state != report.S_COLLECT or place not in ("common", "own"):
        await stale_button(ctx)
        return
    ctx.update_data(place="common_area" if place == "common" else report.OWN_FLAT)
    await report.show_draft(ctx)


@router.button(actions.PICK_URGENCY)
async def urgency_chosen(ctx: Context, data: ButtonData) -> None:
    value = data.int_arg()
    if ctx.state != report.S_COLLECT or value not in (0, 1):
        await stale_button(ctx)
        return
    if value == 1:
        ctx.conversation.state = S_REASON
        ctx.reply(ctx.t("rep.ask_urgent_reason"), buttons=[report.cancel_row(ctx)])
        return
    ctx.update_data(priority=Priority.ordinary.value, urgent_reason="")
    await report.show_draft(ctx)


@router.state(S_REASON)
async def urgent_reason(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("rep.ask_urgent_reason")
        return
    ctx.update_data(priority=Priority.urgent.value, urgent_reason=text[:300])
    await report.show_draft(ctx)


def ask_room(ctx: Context) -> None:
    """The flat's room, asked once (it is kept on the person for next time)."""
    ctx.conversation.state = S_ROOM
    ctx.reply(
        ctx.t("taps.ask_room"),
        buttons=[[actions.SKIP_ROOM.button(ctx.t("core.skip"))], report.cancel_row(ctx)],
    )


@router.state(S_ROOM)
async def room_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text or len(text) > ROOM_AT_MOST:
        ctx.say("onb.room_invalid")
        return
    ctx.person.unit_room = text
    await _submit(ctx)


@router.button(actions.SKIP_ROOM)
async def room_skipped(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_ROOM:
        await stale_button(ctx)
        return
    await _submit(ctx)


async def _submit(ctx: Context) -> None:
    slug = ctx.data.get("category") or ctx.data.get("suggested") or ""
    category = await request_service.get_category(ctx.session, slug=slug)
    if category is None:
        await stale_button(ctx)
        return
    await report.submit(ctx, category)
