"""A liaison pledges a project (报到单位答卷): `/pledge` offers the open needs of the
communities their unit is paired with, then asks step by step: the plan, the people, the
start and due dates, the resources (the unit's own as buttons), and a confirmation. Power users
keep the one line: `/pledge <need> plan | people | start | due | resources`. Rights are
re-checked when the need is chosen and again when the pledge is made.

```mermaid
stateDiagram-v2
    [*] --> need: /pledge (needs as buttons)
    [*] --> plan: /pledge <need>
    [*] --> pledged: /pledge <need> plan | people | start | due | resources
    need --> plan: a need (cbpn)
    plan --> people: the plan, typed
    people --> start: a number, typed or a button
    start --> due: a date, typed or a button, or skip
    due --> resources: a date, typed or a button, or skip
    resources --> resources: a resource (button) or typed
    resources --> confirm: done
    confirm --> pledged: submit (the community's admins get Confirm / Decline)
    confirm --> [*]: cancel
```
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import InvalidTransition, NotFound
from bot.messages import Button
from bot.services.cobuild import actions, projects
from handlers.common import cancel_row
from models.cobuild import ReportingUnit

router = Router()

S_PLAN = "cobuild_pledge_plan"
S_PEOPLE = "cobuild_pledge_people"
S_START = "cobuild_pledge_start"
S_DUE = "cobuild_pledge_due"
S_RES = "cobuild_pledge_res"
S_CONFIRM = "cobuild_pledge_confirm"
PEOPLE = (5, 10, 20, 30, 50)
NEEDS_SHOWN = 10
_LEAD = re.compile(r"^\s*#?(\d{1,9})(?:\s+(.*))?$", re.S)


def parse_date(value: str, today: date) -> date | None:
    """`2026-12-01`, `2026/12/1`, `12-01` (this year); None for empty or "-"; else refused."""
    value = value.strip()
    if not value or value == "-":
        return None
    parts = [int(p) for p in re.split(r"[-./年月日]", value) if p.isdigit()]
    try:
        if len(parts) == 3:
            return date(parts[0], parts[1], parts[2])
        if len(parts) == 2:
            return date(today.year, parts[0], parts[1])
    except ValueError:
        pass
    raise InvalidTransition("cobuild.project.usage")


def parse_pledge(text: str, today: date) -> projects.Pledge:
    """`plan | people | start | due | resources`: all but the plan may be left out."""
    fields = [part.strip() for part in re.split(r"[|｜]", text)] + [""] * 4
    people = fields[1]
    if people and not people.isdigit():
        raise InvalidTransition("cobuild.project.usage")
    return projects.Pledge(
        plan=fields[0],
        people=int(people) if people else 0,
        starts_on=parse_date(fields[2], today),
        due_on=parse_date(fields[3], today),
        resources=fields[4],
    )


def _today(ctx: Context) -> date:
    return ctx.now.astimezone(ctx.settings.tz).date()


@router.command("pledge")
async def pledge(ctx: Context) -> None:
    """No arguments: the needs to choose from; a need: the steps; the whole line: pledged."""
    args = ctx.incoming.args.strip()
    if not args:
        await _offer_needs(ctx)
        return
    match = _LEAD.match(args)
    if match is None:
        raise InvalidTransition("cobuild.project.usage")
    need_id, rest = int(match.group(1)), (match.group(2) or "").strip()
    if not rest:
        await _begin(ctx, need_id)
        return
    await _submit(ctx, need_id, parse_pledge(rest, _today(ctx)))


async def _offer_needs(ctx: Context) -> None:
    needs = await projects.pledgeable_needs(ctx.session, actor=ctx.person)
    if not needs:
        ctx.say("cobuild2.pledge.no_needs")
        return
    rows = [
        [
            actions.PLEDGE_NEED.button(
                ctx.t(
                    "cobuild2.pledge.need_line",
                    id=n.id,
                    title=n.title,
                    community=c.name(ctx.locale),
                )[:60],
                n.id,
            )
        ]
        for n, c in needs[:NEEDS_SHOWN]
    ]
    ctx.reply(ctx.t("cobuild2.pledge.pick_need"), buttons=[*rows, cancel_row(ctx)])


@router.button(actions.PLEDGE_NEED)
async def need_picked(ctx: Context, data: ButtonData) -> None:
    await _begin(ctx, data.int_arg() or 0)


async def _begin(ctx: Context, need_id: int) -> None:
    """Rights checked now (and again at the end): then the first step, the plan."""
    need, unit = await projects.pledging_unit(ctx.session, need_id=need_id, actor=ctx.person)
    ctx.goto(S_PLAN, need_id=need.id, title=need.title, unit_id=unit.id, res=[])
    ctx.reply(
        ctx.t("cobuild2.pledge.ask_plan", id=need.id, title=need.title, unit=unit.name(ctx.locale)),
        buttons=[cancel_row(ctx)],
    )


def _step(ctx: Context, name: str, value: object) -> Button:
    return actions.PLEDGE_STEP.button(ctx.t(f"cobuild2.button.{name}"), name, value)


def _dated(ctx: Context, name: str, value: date) -> Button:
    label = f"{ctx.t(f'cobuild2.button.{name}')} {value:%m-%d}"
    return actions.PLEDGE_STEP.button(label, "date", value.isoformat())


@router.state(S_PLAN)
async def plan_typed(ctx: Context) -> None:
    plan = " ".join(ctx.incoming.text.split()) if ctx.incoming.kind == "text" else ""
    if not plan:
        ctx.say("cobuild2.pledge.ask_plan_again")
        return
    ctx.update_data(plan=plan[:2000])
    _ask_people(ctx)


def _ask_people(ctx: Context) -> None:
    ctx.goto(S_PEOPLE, **ctx.data)
    row = [actions.PLEDGE_STEP.button(str(n), "people", n) for n in PEOPLE]
    ctx.reply(ctx.t("cobuild2.pledge.ask_people"), buttons=[row, [_step(ctx, "skip", 0)]])


@router.state(S_PEOPLE)
async def people_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if not text.isdigit() or int(text) > 9999:
        ctx.say("cobuild2.pledge.bad_people")
        return
    _set_people(ctx, int(text))


def _set_people(ctx: Context, people: int) -> None:
    ctx.update_data(people=people)
    ctx.goto(S_START, **ctx.data)
    today = _today(ctx)
    monday = today + timedelta(days=7 - today.weekday())
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    rows = [
        [_dated(ctx, "today", today), _dated(ctx, "next_monday", monday)],
        [_dated(ctx, "next_month", first), _step(ctx, "skip", "-")],
    ]
    ctx.reply(ctx.t("cobuild2.pledge.ask_start"), buttons=rows)


def _ask_due(ctx: Context) -> None:
    ctx.goto(S_DUE, **ctx.data)
    base = date.fromisoformat(ctx.data["starts"]) if ctx.data.get("starts") else _today(ctx)
    rows = [
        [_dated(ctx, "two_weeks", base + timedelta(days=14))],
        [_dated(ctx, "one_month", base + timedelta(days=30))],
        [_dated(ctx, "three_months", base + timedelta(days=90)), _step(ctx, "skip", "-")],
    ]
    ctx.reply(ctx.t("cobuild2.pledge.ask_due"), buttons=rows)


async def _set_date(ctx: Context, value: date | None) -> None:
    if ctx.state == S_START:
        ctx.update_data(starts=value.isoformat() if value else "")
        _ask_due(ctx)
        return
    starts = ctx.data.get("starts")
    if value is not None and starts and value < date.fromisoformat(starts):
        ctx.say("cobuild2.pledge.due_before_start", starts=starts)
        return
    ctx.update_data(due=value.isoformat() if value else "")
    await _ask_resources(ctx)


@router.state(S_START, S_DUE)
async def date_typed(ctx: Context) -> None:
    text = ctx.incoming.text if ctx.incoming.kind == "text" else ""
    try:
        value = parse_date(text, _today(ctx)) if text.strip() else None
    except InvalidTransition:
        value = None
    if value is None:
        ctx.say("cobuild2.pledge.bad_date")
        return
    await _set_date(ctx, value)


async def _ask_resources(ctx: Context) -> None:
    """The unit's resources as buttons (those not chosen yet), and Done."""
    if ctx.state != S_RES:
        unit = await ctx.session.get(ReportingUnit, int(ctx.data.get("unit_id", 0)))
        offer = [str(item) for items in (unit.resources if unit else {}).values() for item in items]
        ctx.goto(S_RES, **{**ctx.data, "offer": offer[:12]})
    chosen: list[str] = ctx.data.get("res", [])
    rows = [
        [actions.PLEDGE_STEP.button(f"➕ {item}"[:40], "res", i)]
        for i, item in enumerate(ctx.data.get("offer", []))
        if item not in chosen
    ]
    ctx.reply(
        ctx.t(
            "cobuild2.pledge.ask_resources", chosen="、".join(chosen) or ctx.t("next_steps.none")
        ),
        buttons=[*rows, [_step(ctx, "done", "-")]],
    )


@router.state(S_RES)
async def resource_typed(ctx: Context) -> None:
    text = " ".join(ctx.incoming.text.split()) if ctx.incoming.kind == "text" else ""
    if text:
        ctx.update_data(res=[*ctx.data.get("res", []), text[:200]])
    await _ask_resources(ctx)


def _offer(ctx: Context) -> projects.Pledge:
    data: dict[str, Any] = ctx.data
    return projects.Pledge(
        plan=str(data.get("plan", "")),
        people=int(data.get("people", 0)),
        starts_on=date.fromisoformat(data["starts"]) if data.get("starts") else None,
        due_on=date.fromisoformat(data["due"]) if data.get("due") else None,
        resources="、".join(data.get("res", []))[:1000],
    )


def _confirm(ctx: Context) -> None:
    ctx.goto(S_CONFIRM, **ctx.data)
    offer = _offer(ctx)
    text = ctx.t(
        "cobuild2.pledge.confirm",
        id=ctx.data.get("need_id"),
        title=ctx.data.get("title", ""),
        plan=offer.plan,
        people=offer.people or ctx.t("next_steps.not_given"),
        starts=offer.starts_on or ctx.t("next_steps.not_set"),
        due=offer.due_on or ctx.t("next_steps.not_set"),
        resources=offer.resources or ctx.t("next_steps.not_given"),
    )
    ctx.reply(text, buttons=[[_step(ctx, "submit", 1), _step(ctx, "cancel", 0)]])


@router.state(S_CONFIRM)
async def confirm_typed(ctx: Context) -> None:
    _confirm(ctx)


# Which step each button of the flow belongs to: a press from an earlier step is stale.
_STEP_STATES = {
    "people": (S_PEOPLE,),
    "skip": (S_PEOPLE, S_START, S_DUE),
    "date": (S_START, S_DUE),
    "res": (S_RES,),
    "done": (S_RES,),
    "submit": (S_CONFIRM,),
    "cancel": (S_CONFIRM,),
}


@router.button(actions.PLEDGE_STEP)
async def step_pressed(ctx: Context, data: ButtonData) -> None:
    """A button of one of the steps, taken only at that step."""
    step, value = (*data.args, "", "")[:2]
    if ctx.state not in _STEP_STATES.get(step, ()):
        raise NotFound("core.stale_button")
    if step == "people" or (step == "skip" and ctx.state == S_PEOPLE):
        _set_people(ctx, min(max(int(value) if value.isdigit() else 0, 0), 9999))
    elif step in ("date", "skip"):
        await _set_date(ctx, date.fromisoformat(value) if step == "date" else None)
    elif step == "res":
        await _add_resource(ctx, value)
    elif step == "done":
        _confirm(ctx)
    elif step == "submit":
        await _submit(ctx, int(ctx.data.get("need_id", 0)), _offer(ctx))
    else:
        ctx.goto("")
        ctx.say("cobuild2.pledge.cancelled")


async def _add_resource(ctx: Context, value: str) -> None:
    offer: list[str] = ctx.data.get("offer", [])
    index = int(value) if value.isdigit() else -1
    if 0 <= index < len(offer) and offer[index] not in ctx.data.get("res", []):
        ctx.update_data(res=[*ctx.data.get("res", []), offer[index]])
    await _ask_resources(ctx)


async def _submit(ctx: Context, need_id: int, offer: projects.Pledge) -> None:
    """Pledge (rights re-checked): the community's admins get Confirm / Decline."""
    project, unit = await projects.pledge(
        ctx.session,
        need_id=need_id,
        offer=offer,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("cobuild.project.pledged", id=project.id, unit=unit.name(ctx.locale))
