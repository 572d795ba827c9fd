"""Stewards (红管家) and admins set the routine checks of the compounds they look after:
how often each one is made (weekly, monthly), or switched off. The scheduler's sweep
(bot.services.dispatch.upkeep) makes the checks as requests; a change applies from its next period.

```mermaid
stateDiagram-v2
    [*] --> compound: /upkeep, one compound in their care
    [*] --> pick: /upkeep, several (a button each)
    [*] --> search: /upkeep, too many for buttons
    search --> pick: part of a name typed
    pick --> compound: a compound (upk)
    compound --> compound: a check made weekly / monthly, off / on (upkc)
```
Every press re-reads the person's rights over the compound's workstation.
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed, NotFound
from bot.messages import Button
from bot.services.dispatch import actions, upkeep
from bot.services.org import scope
from handlers.common import cancel_row, stale_button
from models import Compound

router = Router()

S_SEARCH = "upk.search"
PICK_LIMIT = 12  # compounds offered as buttons; past that, the editor types part of a name
# What each button does to a check: (how often it runs, whether it runs); None keeps it.
CHANGES: dict[str, tuple[str | None, bool | None]] = {
    "week": (upkeep.WEEK, None),
    "month": (upkeep.MONTH, None),
    "off": (None, False),
    "on": (None, True),
}


@router.command("upkeep")
async def upkeep_command(ctx: Context) -> None:
    compounds = await upkeep.compounds_in_care(ctx.session, person_id=ctx.person.id)
    if not compounds:
        units = await scope.granted_units(
            ctx.session, person_id=ctx.person.id, roles=upkeep.EDITOR_ROLES
        )
        raise NotFound("upkeep.none") if units else NotAllowed("core.not_allowed")
    if len(compounds) == 1:
        await show(ctx, compounds[0])
    elif len(compounds) <= PICK_LIMIT:
        _offer(ctx, compounds)
    else:
        ctx.goto(S_SEARCH)
        ctx.reply(ctx.t("upkeep.type_name", n=len(compounds)), buttons=[cancel_row(ctx)])


@router.state(S_SEARCH)
async def name_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip().lower()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("upkeep.type_name_again")
        return
    compounds = [
        c
        for c in await upkeep.compounds_in_care(ctx.session, person_id=ctx.person.id)
        if text in c.name_zh.lower() or text in (c.name_en or "").lower()
    ]
    if not compounds:
        ctx.reply(ctx.t("upkeep.no_match"), buttons=[cancel_row(ctx)])
        return
    ctx.goto("")
    _offer(ctx, compounds[:PICK_LIMIT])


def _offer(ctx: Context, compounds: list[Compound]) -> None:
    rows = [[actions.UPKEEP_COMPOUND.button(c.name(ctx.locale), c.id)] for c in compounds]
    ctx.reply(ctx.t("upkeep.pick"), buttons=rows)


@router.button(actions.UPKEEP_COMPOUND)
async def open_compound(ctx: Context, data: ButtonData) -> None:
    await show(ctx, await _compound(ctx, data))


@router.button(actions.UPKEEP_SET)
async def change(ctx: Context, data: ButtonData) -> None:
    """A compound's check set to week / month / off / on."""
    compound = await _compound(ctx, data)
    kind, how = (*data.args, "", "")[1:3]
    every, active = CHANGES.get(how, (None, None))
    state = (
        await upkeep.change_plan(
            ctx.session, compound_id=compound.id, kind=kind, every=every, active=active
        )
        if how in CHANGES
        else None
    )
    if state is None:  # no such change, or no such check
        await stale_button(ctx)
        return
    ctx.say("upkeep.changed", check=_check(ctx, kind), now=_how_often(ctx, state))
    await show(ctx, compound)


async def show(ctx: Context, compound: Compound) -> None:
    """The compound's checks, how often each runs, and buttons to change them."""
    ctx.goto("")
    lines = [ctx.t("upkeep.heading", compound=compound.name(ctx.locale))]
    rows: list[list[Button]] = []
    for state in await upkeep.plan_states(ctx.session, compound_id=compound.id):
        check = _check(ctx, state.kind)
        lines.append(ctx.t("upkeep.line", check=check, every=_how_often(ctx, state)))
        if not state.active:
            rows.append([_button(ctx, compound, state.kind, "on", check)])
            continue
        other = upkeep.MONTH if state.every == upkeep.WEEK else upkeep.WEEK
        rows.append(
            [
                _button(ctx, compound, state.kind, other, check),
                _button(ctx, compound, state.kind, "off", check),
            ]
        )
    lines.append(ctx.t("upkeep.footer"))
    ctx.reply("\n".join(lines), buttons=rows)


def _button(ctx: Context, compound: Compound, kind: str, how: str, check: str) -> Button:
    return actions.UPKEEP_SET.button(
        ctx.t(f"upkeep.button.{how}", check=check), compound.id, kind, how
    )


def _check(ctx: Context, kind: str) -> str:
    return ctx.t(f"staff.upkeep.{kind}")


def _how_often(ctx: Context, state: upkeep.PlanSpec) -> str:
    return ctx.t(f"upkeep.every.{state.every}" if state.active else "upkeep.off")


async def _compound(ctx: Context, data: ButtonData) -> Compound:
    compound = await ctx.session.get(Compound, data.int_arg() or 0)
    if compound is None:
        raise NotFound("upkeep.not_found")
    if not await upkeep.may_edit(ctx.session, person_id=ctx.person.id, compound=compound):
        raise NotAllowed("core.not_allowed")
    return compound
