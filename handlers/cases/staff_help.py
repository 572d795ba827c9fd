"""Staff call for help on a request: blow the whistle (summon departments, `whistles.summons`)
or ask red-wrench volunteers for a hand (a volunteer task, bot.services.volunteers.tasks).

```mermaid
stateDiagram-v2
    [*] --> departments: 吹哨 (the category's departments pre-selected)
    departments --> departments: a department toggled
    departments --> [*]: 📣 吹哨 (liaisons pushed, must acknowledge in time)
    departments --> [*]: /cancel or 取消
    [*] --> [*]: 派志愿者任务 (task pushed to matching volunteers)
```
"""

from __future__ import annotations

from sqlalchemy import select

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.cases import actions
from bot.services.volunteers import tasks
from bot.services.whistles import summons
from handlers.cases.staff_common import cancel_row, from_button, from_state
from handlers.common import stale_button
from models import Category, OrgUnit, Request, UnitKind

router = Router()

S_WHISTLE = "staff.whistle"


async def _departments(ctx: Context) -> list[OrgUnit]:
    query = select(OrgUnit).where(OrgUnit.kind == UnitKind.department).order_by(OrgUnit.code)
    return list((await ctx.session.execute(query)).scalars())


async def _choose(ctx: Context, request: Request, chosen: list[int]) -> None:
    rows = []
    for unit in await _departments(ctx):
        mark = "✅ " if unit.id in chosen else ""
        rows.append(
            [actions.WHISTLE_DEPARTMENT.button(mark + unit.name(ctx.locale), request.id, unit.id)]
        )
    rows.append([actions.WHISTLE_BLOW.button(ctx.t("staff.button.blow"))])
    rows.append(cancel_row(ctx))
    ctx.reply(ctx.t("staff.whistle_prompt", reference=request.reference), buttons=rows)


@router.button(actions.WHISTLE)
async def whistle(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    category = await ctx.session.get(Category, request.category_id)
    codes = set(category.department_codes if category else [])
    chosen = [unit.id for unit in await _departments(ctx) if unit.code in codes]
    ctx.goto(S_WHISTLE, request_id=request.id, chosen=chosen)
    await _choose(ctx, request, chosen)


@router.button(actions.WHISTLE_DEPARTMENT)
async def toggle_department(ctx: Context, data: ButtonData) -> None:
    if ctx.state != S_WHISTLE or ctx.data.get("request_id") != data.int_arg():
        await stale_button(ctx)
        return
    request = await from_state(ctx)
    department = data.int_arg(1)
    chosen = [int(i) for i in ctx.data.get("chosen", [])]
    if department in chosen:
        chosen.remove(department)
    elif department is not None:
        chosen.append(department)
    ctx.update_data(chosen=chosen)
    await _choose(ctx, request, chosen)


@router.button(actions.WHISTLE_BLOW)
async def blow(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_WHISTLE:
        await stale_button(ctx)
        return
    request = await from_state(ctx)
    chosen = [int(i) for i in ctx.data.get("chosen", [])]
    await summons.blow(
        ctx.session,
        request=request,
        department_ids=chosen,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    names = [u.name(ctx.locale) for u in await _departments(ctx) if u.id in chosen]
    ctx.goto("")
    ctx.say("staff.whistle_blown", reference=request.reference, departments="、".join(names))


@router.button(actions.VOLUNTEER_TASK)
async def volunteer_task(ctx: Context, data: ButtonData) -> None:
    request = await from_button(ctx, data)
    _task, pushed = await tasks.create_from_request(
        ctx.session, request=request, actor=ctx.person, now=ctx.now, settings=ctx.settings
    )
    ctx.say("staff.task_created", reference=request.reference, count=pushed)
