"""Convening a doorstep meeting (红马扎) or a poll without one, by grid staff or admins.

```mermaid
stateDiagram-v2
    [*] --> topic: /meeting [reference] | /poll [reference] | 召集议事 (mtnew) on a request
    topic --> compound: topic typed (or 用诉求标题), no building known
    topic --> building: topic typed, the request names a building
    compound --> compound: typed part of a compound name
    compound --> building: a compound chosen
    building --> scope: a building chosen
    building --> place: 整个小区 (whole compound)
    scope --> units: 部分单元
    units --> units: a unit toggled
    units --> place: 确定
    scope --> place: 整栋楼
    place --> when: place typed or chosen
    when --> confirm: date and time typed
    place --> confirm: (a poll has no place or time)
    confirm --> [*]: 发出邀请 (invitations pushed, notice PNG for unregistered households)
```
Every state answers /cancel (and 取消) by returning to the main menu, nothing convened.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed, NotFound
from bot.services.meetings import actions, convene
from bot.services.org import places, scope
from handlers.common import cancel_row, stale_button
from handlers.meetings.common import check_scope
from handlers.meetings.details import ask_place
from models import Building, Compound, MeetingKind, Request, ScopeKind

router = Router()

S_TOPIC = "mt.topic"
S_COMPOUND = "mt.compound"


async def _require_convener(ctx: Context) -> None:
    units = await scope.granted_units(
        ctx.session, person_id=ctx.person.id, roles=convene.CONVENER_ROLES
    )
    if not units:
        raise NotAllowed("core.not_allowed")


async def _request_by_reference(ctx: Context, reference: str) -> Request:
    stmt = select(Request).where(Request.reference == reference.strip().upper())
    request = (await ctx.session.execute(stmt)).scalar_one_or_none()
    if request is None:
        raise NotFound("meeting.request_not_found", reference=reference.strip()[:32])
    await _check_request(ctx, request)
    return request


async def _check_request(ctx: Context, request: Request) -> None:
    """Staff may link a request of their units (its owner unit or its building's grid)."""
    units = [request.owner_unit_id]
    if request.building_id is not None:
        building = await ctx.session.get(Building, request.building_id)
        if building is not None:
            units.append(building.grid_id)
    for unit_id in units:
        if await scope.holds_role(
            ctx.session, person_id=ctx.person.id, roles=convene.CONVENER_ROLES, unit_id=unit_id
        ):
            return
    raise NotAllowed("core.not_allowed")


async def begin(ctx: Context, *, kind: MeetingKind, request: Request | None) -> None:
    """Start convening: ask for the topic."""
    await _require_convener(ctx)
    ctx.goto(
        S_TOPIC,
        kind=kind.value,
        request_id=request.id if request else None,
        compound_id=request.compound_id if request else None,
        building_id=request.building_id if request else None,
    )
    rows = []
    if request is not None:
        ctx.update_data(title=(request.title or request.description)[:100])
        rows.append([actions.TOPIC_FROM_REQUEST.button(ctx.t("meeting.button.use_title"))])
        ctx.say("meeting.linked", reference=request.reference)
    rows.append(cancel_row(ctx))
    key = "meeting.ask_topic_poll" if kind == MeetingKind.poll else "meeting.ask_topic"
    ctx.reply(ctx.t(key), buttons=rows)


@router.command("meeting", "poll")
async def meeting_command(ctx: Context) -> None:
    kind = MeetingKind.poll if ctx.incoming.command == "poll" else MeetingKind.meeting
    args = ctx.incoming.args.strip()
    request = await _request_by_reference(ctx, args) if args else None
    await begin(ctx, kind=kind, request=request)


@router.button(actions.CONVENE)
async def meeting_from_request(ctx: Context, data: ButtonData) -> None:
    """The "convene a meeting" action on a request (for the staff view's buttons)."""
    request = await ctx.session.get(Request, data.int_arg() or 0)
    if request is None:
        raise NotFound("meeting.not_found")
    await _check_request(ctx, request)
    await begin(ctx, kind=MeetingKind.meeting, request=request)


@router.state(S_TOPIC)
async def topic_typed(ctx: Context) -> None:
    topic = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not topic:
        ctx.say("meeting.ask_topic")
        return
    ctx.update_data(topic=topic[:300])
    await ask_scope(ctx)


@router.button(actions.TOPIC_FROM_REQUEST)
async def topic_from_request(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_TOPIC or not ctx.data.get("title"):
        await stale_button(ctx)
        return
    ctx.update_data(topic=ctx.data["title"])
    await ask_scope(ctx)


async def ask_scope(ctx: Context) -> None:
    """The building of the linked request, else the compound, else ask for a compound name."""
    building_id, compound_id = ctx.data.get("building_id"), ctx.data.get("compound_id")
    if building_id:
        building = await ctx.session.get(Building, int(building_id))
        if building is not None:
            await ask_building_scope(ctx, building)
            return
    if compound_id:
        compound = await ctx.session.get(Compound, int(compound_id))
        if compound is not None:
            await ask_building(ctx, compound)
            return
    ctx.conversation.state = S_COMPOUND
    ctx.reply(ctx.t("meeting.ask_compound"), buttons=[cancel_row(ctx)])


@router.state(S_COMPOUND)
async def compound_typed(ctx: Context) -> None:
    found = await places.search_compounds(ctx.session, text=ctx.incoming.text)
    if not found:
        ctx.reply(ctx.t("meeting.compound_not_found"), buttons=[cancel_row(ctx)])
        return
    rows = [[actions.PICK_COMPOUND.button(c.name(ctx.locale), c.id)] for c in found]
    ctx.reply(ctx.t("meeting.pick_compound"), buttons=[*rows, cancel_row(ctx)])


def _in_flow(ctx: Context) -> bool:
    return ctx.state.startswith("mt.") and bool(ctx.data.get("topic"))


@router.button(actions.PICK_COMPOUND)
async def compound_chosen(ctx: Context, data: ButtonData) -> None:
    compound = await ctx.session.get(Compound, data.int_arg() or 0)
    if compound is None or not _in_flow(ctx):
        await stale_button(ctx)
        return
    await ask_building(ctx, compound)


async def ask_building(ctx: Context, compound: Compound) -> None:
    """The compound's buildings, and the whole compound."""
    buildings = await places.list_buildings(ctx.session, compound_id=compound.id)
    labels = [
        actions.PICK_SCOPE.button(places.building_label(b, ctx.locale), "b", b.id)
        for b in buildings
    ]
    rows = [labels[i : i + 3] for i in range(0, len(labels), 3)]
    rows.append(
        [actions.PICK_SCOPE.button(ctx.t("meeting.button.whole_compound"), "c", compound.id)]
    )
    ctx.conversation.state = S_COMPOUND
    ctx.reply(
        ctx.t("meeting.pick_building", compound=compound.name(ctx.locale)),
        buttons=[*rows, cancel_row(ctx)],
    )


async def ask_building_scope(ctx: Context, building: Building) -> None:
    """The whole building or some of its units."""
    ctx.conversation.state = S_COMPOUND
    rows = [
        [actions.PICK_SCOPE.button(ctx.t("meeting.button.whole_building"), "w", building.id)],
        [actions.PICK_SCOPE.button(ctx.t("meeting.button.some_units"), "u", building.id)],
    ]
    if building.compound_id:
        rows.append(
            [
                actions.PICK_SCOPE.button(
                    ctx.t("meeting.button.whole_compound"), "c", building.compound_id
                )
            ]
        )
    ctx.reply(
        ctx.t("meeting.pick_scope", building=places.building_label(building, ctx.locale)),
        buttons=[*rows, cancel_row(ctx)],
    )


@router.button(actions.PICK_SCOPE)
async def scope_chosen(ctx: Context, data: ButtonData) -> None:
    kind, target = (data.args[0] if data.args else ""), data.int_arg(1) or 0
    if not _in_flow(ctx) or kind not in ("b", "w", "u", "c"):
        await stale_button(ctx)
        return
    if kind == "b":
        building = await ctx.session.get(Building, target)
        if building is None:
            raise NotFound("meeting.not_found")
        await ask_building_scope(ctx, building)
        return
    if kind == "u":
        building = await ctx.session.get(Building, target)
        if building is None:
            raise NotFound("meeting.not_found")
        await check_scope(ctx, ScopeKind.building, building_id=building.id)
        ctx.update_data(scope="units", building_id=building.id, units=[])
        await ask_units(ctx, building)
        return
    if kind == "w":
        await check_scope(ctx, ScopeKind.building, building_id=target)
        ctx.update_data(scope="building", building_id=target, units=[])
    else:
        await check_scope(ctx, ScopeKind.compound, compound_id=target)
        ctx.update_data(scope="compound", compound_id=target, building_id=None, units=[])
    await ask_place(ctx)


async def ask_units(ctx: Context, building: Building) -> None:
    """Toggle buttons for the building's units, then 确定."""
    chosen = set(ctx.data.get("units", []))
    buttons = [
        actions.PICK_UNIT.button(
            ("✅ " if str(n) in chosen else "") + ctx.t("meeting.unit", n=n), building.id, n
        )
        for n in range(1, max(building.units, 1) + 1)
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([actions.UNITS_DONE.button(ctx.t("meeting.button.units_done"))])
    ctx.reply(ctx.t("meeting.pick_units"), buttons=[*rows, cancel_row(ctx)])


@router.button(actions.PICK_UNIT)
async def unit_toggled(ctx: Context, data: ButtonData) -> None:
    building = await ctx.session.get(Building, data.int_arg() or 0)
    number = data.int_arg(1)
    if (
        building is None
        or number is None
        or not _in_flow(ctx)
        or ctx.data.get("scope") != "units"
        or ctx.data.get("building_id") != building.id
        or not 1 <= number <= max(building.units, 1)
    ):
        await stale_button(ctx)
        return
    chosen = set(ctx.data.get("units", []))
    chosen ^= {str(number)}
    ctx.update_data(units=sorted(chosen, key=int))
    await ask_units(ctx, building)


@router.button(actions.UNITS_DONE)
async def units_done(ctx: Context, _data: ButtonData) -> None:
    if not _in_flow(ctx) or ctx.data.get("scope") != "units":
        await stale_button(ctx)
        return
    if not ctx.data.get("units"):
        ctx.say("meeting.pick_units")
        return
    await ask_place(ctx)
