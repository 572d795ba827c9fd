"""The red whistle (红响哨) in conversation: `/whistle <reference> <department codes>` for the
owner unit's staff and admins, and the summoned department liaisons' answer buttons.

No conversation state is kept: each command and press stands alone, and each re-checks the
person's rights in the database (bot.services.whistles.summons).

```mermaid
stateDiagram-v2
    [*] --> summoned: /whistle (or the staff request screen) pushes the liaisons
    summoned --> acknowledged: Acknowledge (before ack_by)
    summoned --> on_site: On site (counts as acknowledged)
    acknowledged --> on_site: On site
    summoned --> done: Done
    acknowledged --> done: Done
    on_site --> done: Done
    summoned --> summoned: ack_by passes: the street's admins are told, once
    done --> [*]
```
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.cases import queue
from bot.services.whistles import actions
from bot.services.whistles import summons as whistles
from handlers.cases.render import when
from models import OrgUnit, UnitKind

router = Router()

STEPS = {
    actions.ACKNOWLEDGE.wire: whistles.Step.acknowledge,
    actions.ON_SITE.wire: whistles.Step.on_site,
    actions.DONE.wire: whistles.Step.done,
}


async def _usage(ctx: Context) -> None:
    query = select(OrgUnit.code).where(OrgUnit.kind == UnitKind.department).order_by(OrgUnit.code)
    codes = ", ".join((await ctx.session.execute(query)).scalars())
    ctx.say("schedule.whistle.usage", departments=codes or ctx.t("next_steps.departments.none"))


@router.command("whistle")
async def blow_whistle(ctx: Context) -> None:
    """`/whistle JM-2026-000123 police water-group`: summon departments on a request."""
    words = [word for word in re.split(r"[\s,，]+", ctx.incoming.args.strip()) if word]
    if len(words) < 2:
        await _usage(ctx)
        return
    reference, codes = words[0].upper(), words[1:]
    request = await queue.find_in_scope(ctx.session, person_id=ctx.person.id, reference=reference)
    departments = await whistles.departments_by_code(ctx.session, codes=codes)
    whistle = await whistles.blow(
        ctx.session,
        request=request,
        department_ids=[unit.id for unit in departments],
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    summonses = await whistles.list_summons(ctx.session, whistle_id=whistle.id)
    ctx.say(
        "schedule.whistle.blown",
        reference=request.reference,
        departments="、".join(unit.name(ctx.locale) for unit in departments),
        ack_by=when(ctx, summonses[0].ack_by),
    )


@router.button(actions.ACKNOWLEDGE, actions.ON_SITE, actions.DONE)
async def answer_whistle(ctx: Context, data: ButtonData) -> None:
    """A liaison presses Acknowledge / On site / Done on a summons."""
    summons, request, changed = await whistles.answer(
        ctx.session,
        summons_id=data.int_arg() or 0,
        step=STEPS[data.action],
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    if changed:
        ctx.say(f"schedule.whistle.step.{summons.status}", reference=request.reference)
    else:
        ctx.say(
            "schedule.whistle.already",
            reference=request.reference,
            status=ctx.t(f"schedule.whistle.status.{summons.status}"),
        )
