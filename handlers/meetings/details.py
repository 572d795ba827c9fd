"""Convening, last steps: place, date and time, the summary, and sending the invitations.
The state diagram is in handlers/meeting.py; every state answers /cancel."""

from __future__ import annotations

from datetime import datetime

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.meetings import actions, audience, views
from bot.services.meetings import convene as meetings
from bot.services.org import places
from handlers.cases.render import when
from handlers.common import cancel_row, stale_button
from handlers.meetings.common import check_scope, parse_when
from handlers.meetings.manage import send_notice, show_manage
from models import MeetingKind, Request, ScopeKind

router = Router()

S_PLACE = "mt.place"
S_WHEN = "mt.when"
S_CONFIRM = "mt.confirm"


async def ask_place(ctx: Context) -> None:
    if ctx.data.get("kind") == MeetingKind.poll.value:
        await ask_confirm(ctx)
        return
    ctx.conversation.state = S_PLACE
    rows = [
        [
            actions.PICK_PLACE.button(ctx.t("meeting.place.door"), "door"),
            actions.PICK_PLACE.button(ctx.t("meeting.place.square"), "square"),
        ],
        cancel_row(ctx),
    ]
    ctx.reply(ctx.t("meeting.ask_place"), buttons=rows)


@router.state(S_PLACE)
async def place_typed(ctx: Context) -> None:
    place = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not place:
        ctx.say("meeting.ask_place")
        return
    ctx.update_data(place=place[:300])
    ask_when(ctx)


@router.button(actions.PICK_PLACE)
async def place_chosen(ctx: Context, data: ButtonData) -> None:
    which = data.args[0] if data.args else ""
    if ctx.state != S_PLACE or which not in ("door", "square"):
        await stale_button(ctx)
        return
    ctx.update_data(place=ctx.t(f"meeting.place.{which}"))
    ask_when(ctx)


def ask_when(ctx: Context) -> None:
    ctx.conversation.state = S_WHEN
    ctx.reply(ctx.t("meeting.ask_when"), buttons=[cancel_row(ctx)])


@router.state(S_WHEN)
async def when_typed(ctx: Context) -> None:
    moment = parse_when(ctx.incoming.text, now=ctx.now, tz=ctx.settings.tz)
    if moment is None or moment <= ctx.now:
        ctx.say("meeting.bad_when")
        return
    ctx.update_data(starts_at=moment.isoformat())
    await ask_confirm(ctx)


async def _scope_from_data(ctx: Context) -> audience.Scope:
    return await check_scope(
        ctx,
        ScopeKind(ctx.data.get("scope", "building")),
        building_id=ctx.data.get("building_id"),
        compound_id=ctx.data.get("compound_id"),
        units=list(ctx.data.get("units", [])),
    )


async def ask_confirm(ctx: Context) -> None:
    """Summary: topic, scope, place, time, how many residents and households will be reached."""
    found = await _scope_from_data(ctx)
    ctx.conversation.state = S_CONFIRM
    lines = [
        ctx.t("meeting.confirm_heading"),
        ctx.t("meeting.topic_line", topic=ctx.data.get("topic", "")),
        ctx.t("meeting.scope_line", scope=scope_label(ctx, found)),
    ]
    if ctx.data.get("kind") != MeetingKind.poll.value:
        starts = datetime.fromisoformat(ctx.data["starts_at"]).astimezone(ctx.settings.tz)
        lines.append(ctx.t("meeting.place_line", place=ctx.data.get("place", "")))
        lines.append(ctx.t("meeting.when_line", when=when(ctx, starts)))
    rows = [[actions.SEND.button(ctx.t("meeting.button.send"))], cancel_row(ctx)]
    ctx.reply("\n".join(lines), buttons=rows)


def scope_label(ctx: Context, found: audience.Scope) -> str:
    """ "海盛·新阳光地带 17号楼 (1、2单元)" and the like."""
    name = found.compound.name(ctx.locale)
    if found.kind == ScopeKind.compound:
        return ctx.t("meeting.scope.compound", compound=name)
    building = places.building_label(found.buildings[0], ctx.locale)
    if found.kind == ScopeKind.building:
        return ctx.t("meeting.scope.building", compound=name, building=building)
    units = "、".join(found.units)
    return ctx.t("meeting.scope.units", compound=name, building=building, units=units)


@router.button(actions.SEND)
async def convene(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_CONFIRM or not ctx.data.get("topic"):
        await stale_button(ctx)
        return
    found = await _scope_from_data(ctx)
    request = None
    if ctx.data.get("request_id"):
        request = await ctx.session.get(Request, int(ctx.data["request_id"]))
    kind = MeetingKind(ctx.data.get("kind", "meeting"))
    starts = ctx.data.get("starts_at")
    meeting = await meetings.convene(
        ctx.session,
        organiser=ctx.person,
        scope_=found,
        topic=ctx.data["topic"],
        kind=kind,
        request=request,
        place=ctx.data.get("place", ""),
        starts_at=datetime.fromisoformat(starts) if starts else None,
        now=ctx.now,
        settings=ctx.settings,
    )
    report = await views.attendance(ctx.session, meeting=meeting)
    invited = sum(len(h.members) for h in report.households)
    ctx.goto("")
    ctx.say(
        "meeting.convened",
        id=meeting.id,
        residents=invited,
        households=len(report.households),
        unregistered=report.unregistered,
    )
    if report.unregistered:
        await send_notice(ctx, meeting)
    await show_manage(ctx, meeting)
