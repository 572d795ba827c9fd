"""Reporting a new request: the resident says what is wrong, the bot shows what it will submit.

```mermaid
stateDiagram-v2
    [*] --> draft: 新诉求 / free text / photo / voice
    draft --> draft: more text, photos, voice; 换个分类; 改位置; 改为一般
    draft --> urgent_reason: 🚨 紧急
    urgent_reason --> draft: the reason, typed
    draft --> room: 提交（自家屋内） and no room known yet
    room --> [*]: room typed or skip (submitted)
    draft --> [*]: 提交 (reference number, owner, dates)
    draft --> [*]: 我也遇到了 (follow a neighbour's open request)
```
What it can infer it does not ask: the category is suggested from the words (one tap on
提交 confirms it), urgency defaults to ordinary, and where in the compound (a common area or
the resident's own flat, with its room) is asked only when the category needs it and the words
do not say. /cancel in any state returns to the main menu and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.messages import Button
from bot.services.cases import actions, classify, intake, place_hint
from bot.services.cases import lookup as request_service
from bot.services.org import people, places
from handlers.cases import report_similar
from handlers.cases.render import when
from handlers.common import cancel_row as common_cancel_row
from handlers.common import show_main_menu, stale_button
from models import Category, OrgUnit, Priority

router = Router()

S_COLLECT = "rep.collect"
MAX_ITEMS = 20
OWN_FLAT = "own_flat"


def cancel_row(ctx: Context) -> list[Button]:
    return common_cancel_row(ctx)


async def begin(ctx: Context, *, first_input: bool = False, texts: Sequence[str] = ()) -> None:
    """Open a new report; what the person already wrote (this update, `texts`, or texts kept
    while no flow could take them) is its first part."""
    if not people.is_registered(ctx.person):
        from handlers.org import onboarding

        if first_input:
            ctx.keep_text()
        ctx.say("rep.need_address")
        await onboarding.begin(ctx, payload="")
        return
    kept = [*texts, *ctx.take_kept()]
    ctx.goto(S_COLLECT, texts=kept, photos=[], voices=[])
    if first_input:
        await _collect(ctx)
    elif kept:
        await show_draft(ctx)
    else:
        ctx.reply(ctx.t("rep.describe"), buttons=[cancel_row(ctx)])


@router.command("new")
async def new_command(ctx: Context) -> None:
    await begin(ctx)


@router.button(actions.NEW_REQUEST)
async def new_button(ctx: Context, _data: ButtonData) -> None:
    await begin(ctx)


async def _collect(ctx: Context) -> None:
    incoming = ctx.incoming
    ctx.answer_album_once()  # each photo of an album shows the whole draft: the last one says it
    data = ctx.data
    texts: list[str] = list(data.get("texts", []))
    photos: list[dict[str, Any]] = list(data.get("photos", []))
    voices: list[dict[str, Any]] = list(data.get("voices", []))
    if len(texts) + len(photos) + len(voices) >= MAX_ITEMS:
        ctx.say("rep.too_many")
        await show_draft(ctx)
        return
    text = incoming.text.strip()
    if text and texts and data.get("at_limit"):
        # The channel split one long paste at its limit: join it again (its head is kept).
        texts[-1] += incoming.text.rstrip()
    elif text:
        texts.append(text)
    # Telegram counts a message's length in UTF-16 units (an emoji counts two).
    at_limit = _utf16_units(incoming.text) >= ctx.settings.requests.max_text_length
    photos += [{"file_id": p.file_id, "size": p.file_size} for p in incoming.photos]
    if incoming.voice_file_id:
        voices.append({"file_id": incoming.voice_file_id, "duration": incoming.voice_duration})
    ctx.update_data(texts=texts, photos=photos, voices=voices, at_limit=at_limit)
    await show_draft(ctx)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@router.state(S_COLLECT)
async def collect(ctx: Context) -> None:
    if ctx.incoming.kind not in ("text", "photo", "voice"):
        draft = ctx.data
        if draft.get("texts") or draft.get("photos") or draft.get("voices"):
            ctx.say("core.unsupported")
            await show_draft(ctx)
        else:
            ctx.reply(ctx.t("rep.describe"), buttons=[cancel_row(ctx)])
        return
    await _collect(ctx)


async def _category(ctx: Context) -> Category | None:
    """The category chosen, or else the one the words suggest (remembered as suggested)."""
    data = ctx.data
    if data.get("category"):
        return await request_service.get_category(ctx.session, slug=data["category"])
    texts = data.get("texts", [])
    candidates = classify.suggest(" ".join(texts), top=1) if texts else []
    slug = candidates[0].category if candidates else None
    ctx.update_data(suggested=slug)
    return await request_service.get_category(ctx.session, slug=slug) if slug else None


def place_of(ctx: Context, category: Category) -> str | None:
    """Where the problem is: chosen, or read from the words; None when it must be asked."""
    if not category.asks_location:
        return ""
    return ctx.data.get("place") or place_hint.from_text(" ".join(ctx.data.get("texts", [])))


async def show_draft(ctx: Context) -> None:
    """What will be submitted, with one tap to submit it and chips to change what was guessed."""
    category = await _category(ctx)
    if category is None:
        await list_categories(ctx, key="taps.pick_category")
        return
    place = place_of(ctx, category)
    text = await _draft_text(ctx, category, place)
    t = ctx.t
    if place is None:  # the category needs to know: the submit buttons say which
        rows = [
            [actions.SUBMIT_AT.button(t("taps.submit_common"), "common")],
            [actions.SUBMIT_AT.button(t("taps.submit_own"), "own")],
        ]
    else:
        rows = [[actions.SUBMIT.button(t("rep.submit"))]]
    urgent = ctx.data.get("priority") == Priority.urgent.value
    chips = [
        actions.PICK_URGENCY.button(t("taps.ordinary_chip"), 0)
        if urgent
        else actions.PICK_URGENCY.button(t("taps.urgent_chip"), 1),
        actions.ALL_CATEGORIES.button(t("taps.other_category")),
    ]
    if place:
        other = "common" if place == OWN_FLAT else "own"
        chips.append(actions.PICK_PLACE.button(t(f"taps.to_{other}"), other))
    rows.append(chips)
    similar_lines, similar_rows = await report_similar.offer(ctx, category)
    rows += similar_rows
    rows.append(cancel_row(ctx))
    ctx.conversation.state = S_COLLECT
    ctx.reply("\n".join([text, *similar_lines]), buttons=rows)


async def _draft_text(ctx: Context, category: Category, place: str | None) -> str:
    data = ctx.data
    shown_place = ctx.t(f"rep.place_{place}") if place else ctx.t("taps.place_unknown")
    address = await places.describe_address(
        ctx.session,
        compound_id=ctx.person.compound_id,
        building_id=ctx.person.building_id,
        unit_room=ctx.person.unit_room,
        locale=ctx.locale,
    )
    return ctx.t(
        "taps.draft",
        category=category.name(ctx.locale),
        address=address,
        place=ctx.t("next_steps.place.not_asked") if place == "" else shown_place,
        priority=ctx.t(f"rep.{data.get('priority', 'ordinary')}"),
        description=" / ".join(data.get("texts", [])) or ctx.t("next_steps.not_given"),
        photos=len(data.get("photos", [])),
        voices=len(data.get("voices", [])),
    )


async def list_categories(ctx: Context, *, key: str = "rep.choose_category") -> None:
    categories = await request_service.list_categories(ctx.session)
    buttons = [actions.PICK_CATEGORY.button(c.name(ctx.locale), c.slug) for c in categories]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    ctx.conversation.state = S_COLLECT
    ctx.reply(ctx.t(key), buttons=[*rows, cancel_row(ctx)])


@router.button(actions.SUBMIT, actions.SUBMIT_AT)
async def submit_pressed(ctx: Context, data: ButtonData) -> None:
    place = data.args[0] if data.args else ""
    if ctx.state != S_COLLECT or place not in ("", "common", "own"):
        await stale_button(ctx)
        return
    draft = ctx.data
    if not (draft.get("texts") or draft.get("photos") or draft.get("voices")):
        ctx.reply(ctx.t("rep.empty"), buttons=[cancel_row(ctx)])
        return
    if place:
        ctx.update_data(place="common_area" if place == "common" else OWN_FLAT)
    category = await _category(ctx)
    if category is None or place_of(ctx, category) is None:
        await show_draft(ctx)
        return
    if place_of(ctx, category) == OWN_FLAT and not ctx.person.unit_room:
        from handlers.cases import report_choices

        report_choices.ask_room(ctx)
        return
    await submit(ctx, category)


async def submit(ctx: Context, category: Category) -> None:
    """Submit the draft: the reference number, who has it and by when."""
    data = ctx.data
    request = await intake.submit(
        ctx.session,
        reporter=ctx.person,
        category=category,
        description="\n".join(data.get("texts", [])),
        photos=[(p["file_id"], p.get("size"), "photo") for p in data.get("photos", [])]
        + [(v["file_id"], None, "voice") for v in data.get("voices", [])],
        channel=ctx.incoming.channel,
        building_id=ctx.person.building_id,
        compound_id=ctx.person.compound_id,
        place_scope=place_of(ctx, category) or "",
        priority=Priority(data.get("priority", "ordinary")),
        urgent_reason=data.get("urgent_reason", ""),
        suggested_category=data.get("suggested"),
        now=ctx.now,
        settings=ctx.settings,
    )
    owner = await ctx.session.get(OrgUnit, request.owner_unit_id)
    ctx.reply(
        ctx.t(
            "rep.submitted",
            reference=request.reference,
            owner=owner.name(ctx.locale) if owner else "-",
            accept_by=when(ctx, request.accept_by),
            resolve_by=when(ctx, request.resolve_by),
        )
    )
    show_main_menu(ctx)
