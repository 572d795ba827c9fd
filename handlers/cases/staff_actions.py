"""Staff act on one request: Accept / Return (with a reason) / Transfer (a unit picked from
the tree) from the dispatch push or the staff view; start, record contact, public or internal
notes, ask the resident for information, correct the category, hint at a doorstep meeting.
Each press re-checks the presser's rights; `workflow.transition` checks them once more.

```mermaid
stateDiagram-v2
    [*] --> reason: 退回 (return)
    reason --> [*]: reason typed (request goes to the unit above)
    [*] --> tree: 转办 (transfer)
    tree --> tree: ▸ drill into a unit
    tree --> [*]: a unit chosen (request transferred)
    [*] --> note: 公开进展 / 内部备注
    note --> [*]: text typed (public: the resident is told)
    [*] --> question: 请居民补充
    question --> [*]: question typed (request waits for the resident)
    [*] --> category: 更改类别
    category --> [*]: a category chosen (correction kept)
    reason --> [*]: /cancel or 取消
    note --> [*]: /cancel or 取消
    question --> [*]: /cancel or 取消
```
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed, NotFound
from bot.messages import Button
from bot.services.cases import actions, casework, workflow
from bot.services.cases import lookup as request_service
from handlers.cases.staff_common import (
    Action,
    cancel_row,
    from_button,
    from_state,
    require_status,
    show,
)
from handlers.common import stale_button
from models import Category, OrgUnit, Request, Visibility

router = Router()

S_RETURN = "staff.return"
S_NOTE = "staff.note"
S_ASK = "staff.ask"
TEXT_LIMIT = 1000


async def _do(ctx: Context, data: ButtonData, action: Action, key: str) -> None:
    request = await from_button(ctx, data)
    await workflow.transition(
        ctx.session,
        request=request,
        action=action,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    await show(ctx, request, key=key)


@router.button(actions.ACCEPT)
async def accept(ctx: Context, data: ButtonData) -> None:
    await _do(ctx, data, Action.accept, "staff.accepted")


@router.button(actions.START)
async def start(ctx: Context, data: ButtonData) -> None:
    await _do(ctx, data, Action.start, "staff.started")


@router.button(actions.CONTACT)
async def contacted(ctx: Context, data: ButtonData) -> None:
    await _do(ctx, data, Action.contact, "staff.contacted")


@router.button(actions.STAFF_CANCEL)
async def cancel(ctx: Context, _data: ButtonData) -> None:
    ctx.goto("")
    ctx.say("staff.cancelled")


async def _ask_text(ctx: Context, data: ButtonData, action: Action, state: str, key: str) -> None:
    """Check the action may start, then ask for its text."""
    request = await from_button(ctx, data)
    require_status(request, action)
    if not await workflow.may(ctx.session, request=request, action=action, actor=ctx.person):
        raise NotAllowed("staff.error.not_in_scope", reference=request.reference)
    ctx.goto(state, request_id=request.id, visibility=Visibility.public.value)
    ctx.reply(ctx.t(key, reference=request.reference), buttons=[cancel_row(ctx)])


def _typed(ctx: Context) -> str | None:
    text = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if not text:
        ctx.say("staff.need_text")
        return None
    return text[:TEXT_LIMIT]


@router.button(actions.RETURN)
async def return_(ctx: Context, data: ButtonData) -> None:
    await _ask_text(ctx, data, Action.return_, S_RETURN, "staff.return_prompt")


@router.state(S_RETURN)
async def return_reason(ctx: Context) -> None:
    reason = _typed(ctx)
    if reason is None:
        return
    request = await from_state(ctx)
    await workflow.transition(
        ctx.session,
        request=request,
        action=Action.return_,
        actor=ctx.person,
        now=ctx.now,
        reason=reason,
        settings=ctx.settings,
    )
    ctx.goto("")
    owner = await ctx.session.get(OrgUnit, request.owner_unit_id)
    ctx.say(
        "staff.returned", reference=request.reference, unit=owner.name(ctx.locale) if owner else "-"
    )


@router.button(actions.PUBLIC_NOTE, actions.INTERNAL_NOTE)
async def note(ctx: Context, data: ButtonData) -> None:
    internal = data.action == actions.INTERNAL_NOTE.wire
    key = "staff.internal_note_prompt" if internal else "staff.public_note_prompt"
    await _ask_text(ctx, data, Action.note, S_NOTE, key)
    visibility = Visibility.internal if internal else Visibility.public
    ctx.update_data(visibility=visibility.value)


@router.state(S_NOTE)
async def note_text(ctx: Context) -> None:
    text = _typed(ctx)
    if text is None:
        return
    request = await from_state(ctx)
    visibility = Visibility(ctx.data.get("visibility", Visibility.internal.value))
    await workflow.transition(
        ctx.session,
        request=request,
        action=Action.note,
        actor=ctx.person,
        now=ctx.now,
        note=text,
        visibility=visibility,
        settings=ctx.settings,
    )
    await show(ctx, request, key=f"staff.noted_{visibility.value}")


@router.button(actions.ASK_INFO)
async def ask_info(ctx: Context, data: ButtonData) -> None:
    await _ask_text(ctx, data, Action.ask_info, S_ASK, "staff.ask_prompt")


@router.state(S_ASK)
async def ask_info_text(ctx: Context) -> None:
    question = _typed(ctx)
    if question is None:
        return
    request = await from_state(ctx)
    await workflow.transition(
        ctx.session,
        request=request,
        action=Action.ask_info,
        actor=ctx.person,
        now=ctx.now,
        note=question,
        settings=ctx.settings,
    )
    await show(ctx, request, key="staff.asked")


# --- transfer: a unit picked from the tree, starting above the presser's own unit(s) --------


async def _tree(ctx: Context, request: Request, units: list[OrgUnit], up: int | None) -> None:
    """Units to choose (not the current owner), each with a drill button when it has units
    below it that can receive the request."""
    rows: list[list[Button]] = []
    for unit in units:
        row = []
        if unit.id != request.owner_unit_id:
            row.append(actions.TRANSFER_TO.button(unit.name(ctx.locale), request.id, unit.id))
        if await casework.has_transfer_children(ctx.session, unit_id=unit.id):
            label = ctx.t("staff.button.drill", unit=unit.name(ctx.locale))
            row.append(actions.TRANSFER_DRILL.button(label, request.id, unit.id))
        if row:
            rows.append(row)
    if up is not None:
        rows.append([actions.TRANSFER_DRILL.button(ctx.t("staff.button.up"), request.id, up)])
    rows.append(cancel_row(ctx))
    ctx.reply(ctx.t("staff.transfer_prompt"), buttons=rows)


@router.button(actions.TRANSFER)
async def transfer(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    require_status(request, Action.transfer)
    roots = await casework.transfer_roots(ctx.session, person_id=ctx.person.id)
    ctx.goto("")
    if len(roots) == 1:
        children = await casework.list_transfer_children(ctx.session, unit_id=roots[0].id)
        await _tree(ctx, request, children, None)
    else:
        await _tree(ctx, request, roots, None)


@router.button(actions.TRANSFER_DRILL)
async def transfer_drill(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    unit = await ctx.session.get(OrgUnit, data.int_arg(1) or 0)
    roots = await casework.transfer_roots(ctx.session, person_id=ctx.person.id)
    if unit is None:
        raise NotFound("next_steps.unit_not_found")
    is_root = any(root.id == unit.id for root in roots)
    if not is_root and not await casework.may_transfer_to(
        ctx.session, person_id=ctx.person.id, unit=unit
    ):
        raise NotAllowed("staff.error.target_out_of_scope")
    children = await casework.list_transfer_children(ctx.session, unit_id=unit.id)
    await _tree(ctx, request, children, None if is_root else unit.parent_id)


@router.button(actions.TRANSFER_TO)
async def transfer_chosen(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    unit = await ctx.session.get(OrgUnit, data.int_arg(1) or 0)
    if unit is None:
        raise NotFound("next_steps.unit_not_found")
    if not await casework.may_transfer_to(ctx.session, person_id=ctx.person.id, unit=unit):
        raise NotAllowed("staff.error.target_out_of_scope")
    await workflow.transition(
        ctx.session,
        request=request,
        action=Action.transfer,
        actor=ctx.person,
        now=ctx.now,
        target_unit_id=unit.id,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("staff.transferred", reference=request.reference, unit=unit.name(ctx.locale))


# --- category correction, meeting hint -----------------------------------------------------


@router.button(actions.CHANGE_CATEGORY)
async def category(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    rows = [
        [actions.CATEGORY_CHOSEN.button(c.name(ctx.locale), request.id, c.id)]
        for c in await request_service.list_categories(ctx.session)
        if c.id != request.category_id
    ]
    ctx.goto("")
    ctx.reply(ctx.t("staff.category_prompt", reference=request.reference), buttons=rows)


@router.button(actions.CATEGORY_CHOSEN)
async def category_chosen(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    chosen = await ctx.session.get(Category, data.int_arg(1) or 0)
    if chosen is None:
        await stale_button(ctx)
        return
    await casework.change_category(
        ctx.session,
        request=request,
        category=chosen,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    await show(ctx, request, key="staff.category_changed")
