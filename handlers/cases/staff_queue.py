"""Staff and stewards find their work: `/queue` (paged, due soonest first), opening a request,
`/find <reference>`; admins move requests with `/assign <reference> <unit code>` and
`/escalate <reference>`. Every command and button re-reads the person's rights.

```mermaid
stateDiagram-v2
    [*] --> queue: /queue
    queue --> queue: ◀ / ▶ (5 per page)
    queue --> request: a request
    [*] --> request: /find <reference>
    request --> [*]: an action (staff_actions, staff_work)
    [*] --> [*]: /assign <reference> <unit code> (admin), /escalate <reference> (admin)
```
"""

from __future__ import annotations

from sqlalchemy import select

from bot.buttons import ButtonData, parse_id
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed, NotFound
from bot.messages import Button
from bot.services.cases import actions, queue, workflow
from bot.services.org import scope
from handlers.cases.render import when
from handlers.cases.staff_common import from_button, show
from models import OrgUnit, Request, Role

router = Router()
ADMIN = (Role.admin,)


def _item_label(ctx: Context, item: queue.QueueItem) -> str:
    return ctx.t(
        "staff.queue_item",
        mark=ctx.t(f"staff.mark.{item.group.value}"),
        reference=item.request.reference,
        category=item.category.name(ctx.locale),
        due=when(ctx, item.due),
    )


async def show_queue(ctx: Context, page: int) -> None:
    """One page of the person's open requests, grouped by how soon they are due."""
    found = await queue.list_open(
        ctx.session, person_id=ctx.person.id, now=ctx.now, settings=ctx.settings, page=page
    )
    ctx.goto("")
    if not found.items:
        ctx.say("staff.queue_empty")
        return
    lines = [
        ctx.t("staff.queue_heading", total=found.total, page=found.page + 1, pages=found.pages)
    ]
    rows: list[list[Button]] = []
    group = None
    for item in found.items:
        if item.group != group:
            group = item.group
            lines.append(ctx.t(f"staff.group.{group.value}"))
        lines.append(_item_label(ctx, item))
        rows.append([actions.QUEUE_OPEN.button(_item_label(ctx, item), item.request.id)])
    nav = []
    if found.page > 0:
        nav.append(actions.QUEUE.button(ctx.t("staff.button.previous"), found.page - 1))
    if found.page + 1 < found.pages:
        nav.append(actions.QUEUE.button(ctx.t("staff.button.next"), found.page + 1))
    if nav:
        rows.append(nav)
    ctx.reply("\n".join(lines), buttons=rows)


@router.command("queue")
async def queue_command(ctx: Context) -> None:
    page = parse_id(ctx.incoming.args.strip())  # a page number, "1" the first
    await show_queue(ctx, page - 1 if page else 0)


@router.button(actions.QUEUE)
async def queue_page(ctx: Context, data: ButtonData) -> None:
    await show_queue(ctx, data.int_arg() or 0)


@router.button(actions.QUEUE_OPEN)
async def open_request(ctx: Context, data: ButtonData) -> None:
    await show(ctx, await from_button(ctx, data))


@router.command("find")
async def find(ctx: Context) -> None:
    reference = ctx.incoming.args.strip()
    if not reference:
        ctx.say("staff.find_usage")
        return
    request = await queue.find_in_scope(ctx.session, person_id=ctx.person.id, reference=reference)
    await show(ctx, request)


async def _request_for_admin(ctx: Context, reference: str) -> Request:
    request = await queue.get_by_reference(ctx.session, reference=reference)
    if request is None:
        admin_of = await scope.granted_units(ctx.session, person_id=ctx.person.id, roles=ADMIN)
        raise (
            NotFound("staff.error.not_found") if admin_of else NotAllowed("staff.error.admin_only")
        )
    await queue.require_admin_over(
        ctx.session, person_id=ctx.person.id, unit_id=request.owner_unit_id
    )
    return request


@router.command("assign")
async def assign(ctx: Context) -> None:
    """An admin transfers a request in their scope to a unit in their scope."""
    parts = ctx.incoming.args.split()
    if len(parts) != 2:
        ctx.say("staff.assign_usage")
        return
    request = await _request_for_admin(ctx, parts[0])
    query = select(OrgUnit).where(OrgUnit.code == parts[1].strip().lower())
    target = (await ctx.session.execute(query)).scalar_one_or_none()
    if target is None:
        raise NotFound("staff.error.unit_not_found", code=parts[1][:64])
    await queue.require_admin_over(ctx.session, person_id=ctx.person.id, unit_id=target.id)
    await workflow.transition(
        ctx.session,
        request=request,
        action=workflow.Action.transfer,
        actor=ctx.person,
        now=ctx.now,
        target_unit_id=target.id,
        settings=ctx.settings,
    )
    ctx.say("staff.transferred", reference=request.reference, unit=target.name(ctx.locale))


@router.command("escalate")
async def escalate(ctx: Context) -> None:
    """An admin sends a request in their scope one level up the grid."""
    reference = ctx.incoming.args.strip()
    if not reference:
        ctx.say("staff.escalate_usage")
        return
    request = await _request_for_admin(ctx, reference)
    await workflow.transition(
        ctx.session,
        request=request,
        action=workflow.Action.escalate,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    owner = await ctx.session.get(OrgUnit, request.owner_unit_id)
    ctx.say(
        "staff.escalated",
        reference=request.reference,
        unit=owner.name(ctx.locale) if owner else "-",
    )
