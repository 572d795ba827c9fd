"""Onboarding: language, home address (drill-down, search, location or QR deep link), phone.

```mermaid
stateDiagram-v2
    [*] --> street: /start (no language known: the default's, the other offered there)
    street --> street: English / 中文 (the same question in that language)
    [*] --> building: /start c_<compound> (QR in the compound)
    street --> community --> compound --> building
    street --> building: typed name with one match (confirmed by choosing a building)
    street --> compound: typed part of a name (several matches)
    street --> building: shared location
    building --> phone: building chosen
    phone --> [*]: contact shared, number typed or skip: "tell us what is wrong"
```
The welcome, the first question and its buttons are one message. The room is not asked here:
the report asks for it when its category needs it (handlers/cases/report_choices.py).
Every state answers /cancel by returning to the main menu.
"""

from __future__ import annotations

import math
import re

from bot.buttons import ButtonData
from bot.core.context import KEPT, Context
from bot.core.router import Router
from bot.messages import Button
from bot.services.dispatch import routing
from bot.services.org import actions, people, places
from handlers.common import main_menu_buttons, show_main_menu, stale_button
from models import Building, Compound, UnitKind

router = Router()
PAGE = 8

S_STREET = "onb.street"
S_ROOM = "onb.room"
S_PHONE = "onb.phone"
# Longer typed text that names no compound is taken for what they came to report, and kept.
COMPOUND_NAME_AT_MOST = 15
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def _rows(buttons: list[Button], per_row: int = 2) -> list[list[Button]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


async def begin(ctx: Context, *, payload: str) -> None:
    """Start (or restart) onboarding; `c_<id>` or `c_<code>` pre-selects a compound."""
    compound = await places.get_compound_by_payload(ctx.session, payload=payload)
    if compound is not None:  # the compound's QR code: its address questions are answered
        await ask_building(ctx, compound, lead=ctx.t("onb.welcome"))
        return
    # Nothing says their language (WeChat tells none): the default's welcome and first
    # question at once, the other language offered as one more choice in it.
    offer_other = ctx.person.language is None and not ctx.incoming.language_code
    if ctx.person.language is None:
        ctx.person.language = ctx.locale
    lead = [ctx.t("onb.change_address" if people.is_registered(ctx.person) else "onb.welcome")]
    if ctx.data.get(KEPT):
        lead.append(ctx.t("onb.kept"))
    await ask_street(ctx, lead="\n".join(lead), offer_other=offer_other)


async def ask_street(ctx: Context, *, lead: str = "", offer_other: bool = False) -> None:
    """First step of the address, in one message with what leads to it: streets, or type a
    compound name, or share a location (a button, since one message holds one keyboard);
    `offer_other`: the other language too, for someone whose language nothing told."""
    streets = await places.list_units(ctx.session, kind=UnitKind.street)
    rows = _rows([actions.PICK_STREET.button(s.name(ctx.locale), s.id) for s in streets])
    rows.append([actions.SHARE_LOCATION.button(ctx.t("onb.share_location"))])
    text = _lead(lead, ctx.t("onb.ask_street"))
    if offer_other:
        other = "en" if ctx.locale == "zh" else "zh"
        rows.append([actions.SET_LANGUAGE.button(LANGUAGE_NAMES[other], other)])
        text += "\n" + ctx.t("staff_menus.other_language")
    ctx.goto(S_STREET)
    ctx.reply(text, buttons=rows)


def _lead(lead: str, text: str) -> str:
    return f"{lead}\n{text}" if lead else text


@router.button(actions.SHARE_LOCATION)
async def location_wanted(ctx: Context, _data: ButtonData) -> None:
    """The keyboard that shares a location (one message holds one keyboard)."""
    if ctx.state != S_STREET:
        await stale_button(ctx)
        return
    ctx.goto(S_STREET)
    ctx.reply(
        ctx.t("taps.send_location"), reply_requests=[(ctx.t("onb.share_location"), "location")]
    )


def _choosing(ctx: Context) -> bool:
    """Whether the chat is choosing an address now: a street, community, compound or building
    button from an earlier registration must not silently start a new one."""
    return ctx.state == S_STREET


@router.button(actions.PICK_STREET)
async def street_chosen(ctx: Context, data: ButtonData) -> None:
    street_id = data.int_arg()
    street = await places.get_unit(ctx.session, unit_id=street_id or 0, kind=UnitKind.street)
    if street is None or not _choosing(ctx):
        await stale_button(ctx)
        return
    communities = await places.list_units(ctx.session, kind=UnitKind.community, parent_id=street.id)
    buttons = [actions.PICK_COMMUNITY.button(c.name(ctx.locale), c.id, 0) for c in communities]
    ctx.goto(S_STREET)
    ctx.reply(ctx.t("onb.ask_community", street=street.name(ctx.locale)), buttons=_rows(buttons))


@router.button(actions.PICK_COMMUNITY)
async def community_chosen(ctx: Context, data: ButtonData) -> None:
    community = await places.get_unit(
        ctx.session, unit_id=data.int_arg() or 0, kind=UnitKind.community
    )
    if community is None or not _choosing(ctx):
        await stale_button(ctx)
        return
    page = data.int_arg(1) or 0
    compounds = await places.list_compounds(ctx.session, community_id=community.id)
    shown = compounds[page * PAGE : (page + 1) * PAGE]
    rows = _rows([actions.PICK_COMPOUND.button(c.name(ctx.locale), c.id) for c in shown])
    if len(compounds) > (page + 1) * PAGE:
        rows.append([actions.PICK_COMMUNITY.button(ctx.t("core.more"), community.id, page + 1)])
    ctx.goto(S_STREET)
    if not shown:
        ctx.say("onb.no_compounds")
        return
    ctx.reply(ctx.t("onb.ask_compound", community=community.name(ctx.locale)), buttons=rows)


@router.button(actions.PICK_COMPOUND)
async def compound_chosen(ctx: Context, data: ButtonData) -> None:
    compound = await ctx.session.get(Compound, data.int_arg() or 0)
    if compound is None or not _choosing(ctx):
        await stale_button(ctx)
        return
    await ask_building(ctx, compound)


async def ask_building(
    ctx: Context, compound: Compound, *, lead: str = "", not_this: bool = False
) -> None:
    """Offer the compound's buildings (choosing one confirms the compound); `not_this` adds a
    way back for a compound that was only guessed."""
    buildings = await places.list_buildings(ctx.session, compound_id=compound.id)
    ctx.goto(S_STREET)
    buttons = [
        actions.PICK_BUILDING.button(places.building_label(b, ctx.locale), b.id) for b in buildings
    ]
    if not buttons:
        await people.set_address(ctx.session, person=ctx.person, compound=compound, building=None)
        ask_phone(ctx, lead=lead)
        return
    rows = _rows(buttons, per_row=4)
    if not_this:
        rows.append([actions.NOT_THIS_COMPOUND.button(ctx.t("taps.not_this_compound"))])
    text = ctx.t("onb.ask_building", compound=compound.name(ctx.locale))
    ctx.reply(_lead(lead, text), buttons=rows)


@router.button(actions.NOT_THIS_COMPOUND)
async def streets_again(ctx: Context, _data: ButtonData) -> None:
    """Not the compound that was guessed: back to the streets."""
    await ask_street(ctx)


@router.button(actions.PICK_BUILDING)
async def building_chosen(ctx: Context, data: ButtonData) -> None:
    building = await ctx.session.get(Building, data.int_arg() or 0)
    compound = await ctx.session.get(Compound, building.compound_id) if building else None
    if building is None or compound is None or not _choosing(ctx):
        await stale_button(ctx)
        return
    await people.set_address(ctx.session, person=ctx.person, compound=compound, building=building)
    ask_phone(ctx)


@router.state(S_ROOM)
async def room_typed(ctx: Context) -> None:
    """A room typed in a chat that was asked for it before the report took that question."""
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text or len(text) > 40:
        ctx.say("onb.room_invalid")
        return
    ctx.person.unit_room = text
    ask_phone(ctx)


@router.button(actions.SKIP_ROOM)
async def room_skipped(ctx: Context, _data: ButtonData) -> None:
    if ctx.person.compound_id is None:
        await stale_button(ctx)
        return
    ask_phone(ctx)


# Digits with the usual separators: meant as a phone number, even when not a valid one.
PHONE_ATTEMPT = re.compile(r"[+＋]?[\d\s\-()（）]{5,}")


def ask_phone(ctx: Context, *, lead: str = "") -> None:
    ctx.goto(S_PHONE)
    ctx.reply(
        _lead(lead, ctx.t("onb.ask_phone")),
        buttons=[[actions.SKIP_PHONE.button(ctx.t("core.skip"))]],
        reply_requests=[(ctx.t("onb.share_phone"), "contact")],
    )


@router.state(S_PHONE)
async def phone_shared(ctx: Context) -> None:
    incoming = ctx.incoming
    if incoming.kind == "text":
        typed = people.parse_mobile(incoming.text)
        if typed is not None:  # typed themselves: the same consent as a shared contact
            people.set_phone(person=ctx.person, phone=typed, now=ctx.now)
        elif PHONE_ATTEMPT.fullmatch(incoming.text.strip()):  # a number, mistyped
            ctx.say("webchat_phone.format_example")
            return
        else:  # not a number: their words go to a report, and the phone is skipped
            ctx.keep_text()
        await finish(ctx)
        return
    if incoming.kind != "contact":
        ctx.say("onb.phone_use_button")
        return
    if incoming.contact_user_id and incoming.contact_user_id != incoming.user_id:
        ctx.say("onb.phone_not_yours")
        return
    people.set_phone(person=ctx.person, phone=incoming.contact_phone, now=ctx.now)
    await finish(ctx)


@router.button(actions.SKIP_PHONE)
async def phone_skipped(ctx: Context, _data: ButtonData) -> None:
    if ctx.person.compound_id is None:
        await stale_button(ctx)
        return
    await finish(ctx)


async def finish(ctx: Context) -> None:
    """Confirm the address and show the main menu."""
    address = await places.describe_address(
        ctx.session,
        compound_id=ctx.person.compound_id,
        building_id=ctx.person.building_id,
        unit_room=ctx.person.unit_room,
        locale=ctx.locale,
    )
    kept = ctx.take_kept()
    ctx.goto("")
    done = ctx.t("onb.done", address=address)
    if kept:  # what they wrote while registering becomes the report's first part
        from handlers.cases import report

        ctx.reply(done, remove_reply_keyboard=True)
        await report.begin(ctx, texts=kept)
        return
    # Whatever they type next is the report they came for (handlers/common.py free_text).
    text = done + "\n" + ctx.t("taps.tell_us")
    ctx.reply(text, buttons=main_menu_buttons(ctx), remove_reply_keyboard=True)


@router.state(S_STREET)
async def address_input(ctx: Context) -> None:
    """While choosing an address: a typed name searches compounds; a location finds one."""
    incoming = ctx.incoming
    if incoming.kind == "location":
        await _located(ctx, incoming.latitude, incoming.longitude)
        return
    if incoming.kind != "text" or not incoming.text.strip():
        ctx.say("onb.use_buttons")
        return
    found = await places.search_compounds(ctx.session, text=incoming.text[:50])
    if not found:
        text = incoming.text.strip()
        if len(text) > COMPOUND_NAME_AT_MOST and ctx.keep_text():  # a complaint, not a name
            ctx.say("onb.kept")
            return
        ctx.say("onb.search_none", text=text[:50])
        return
    if len(found) == 1:  # one match: its buildings at once, choosing one confirms it
        compound = found[0]
        lead = ctx.t("taps.found_one", compound=compound.name(ctx.locale))
        await ask_building(ctx, compound, lead=lead, not_this=True)
        return
    buttons = [actions.PICK_COMPOUND.button(c.name(ctx.locale), c.id) for c in found]
    ctx.reply(ctx.t("onb.search_results"), buttons=_rows(buttons))


async def _located(ctx: Context, lat: float | None, lon: float | None) -> None:
    if not _valid_point(lat, lon):
        ctx.say("onb.location_invalid")
        return
    assert lat is not None and lon is not None
    found = await routing.locate(ctx.session, lat=lat, lon=lon, settings=ctx.settings)
    compound = await ctx.session.get(Compound, found.compound_id) if found.compound_id else None
    if compound is None:
        ctx.say("onb.location_unknown")
        return
    lead = ctx.t("onb.location_found", compound=compound.name(ctx.locale))
    await ask_building(ctx, compound, lead=lead, not_this=True)


def _valid_point(lat: float | None, lon: float | None) -> bool:
    return (
        lat is not None
        and lon is not None
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    )


@router.command("address")
async def change_address(ctx: Context) -> None:
    await ask_street(ctx, lead=ctx.t("onb.change_address"))


__all__ = ["begin", "router", "show_main_menu"]
