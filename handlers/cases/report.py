"""Reporting a new request.

```mermaid
stateDiagram-v2
    [*] --> collect: 新诉求 / free text
    collect --> collect: text, photo, voice (several messages)
    collect --> category: 完成 (category suggested)
    category --> place: category asks where (common area / own flat)
    category --> urgency
    place --> urgency
    urgency --> urgent_reason: 紧急
    urgent_reason --> similar
    urgency --> similar: 一般
    similar --> confirm: none similar / 仍然新提交
    similar --> [*]: 我也遇到了 (follow an open request)
    confirm --> [*]: 提交 (reference number, owner, dates)
```
/cancel in any state returns to the main menu and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.messages import Button
from bot.services.cases import actions, announce, classify, workflow
from bot.services.cases import lookup as request_service
from bot.services.org import actions as org_actions
from bot.services.org import people, places
from handlers.cases.render import status_name, when
from handlers.common import show_main_menu, stale_button
from models import Category, OrgUnit, Priority, Request

router = Router()

S_COLLECT = "rep.collect"
S_CATEGORY = "rep.category"
S_PLACE = "rep.place"
S_URGENCY = "rep.urgency"
S_REASON = "rep.urgent_reason"
S_SIMILAR = "rep.similar"
S_CONFIRM = "rep.confirm"
MAX_ITEMS = 20


def _done_button(ctx: Context) -> list[list[Button]]:
    return [
        [
            actions.REPORT_COLLECTED.button(ctx.t("rep.done")),
            org_actions.MENU.button(ctx.t("core.cancel")),
        ]
    ]


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
        _collect(ctx)
    elif kept:
        quoted = _quote(" ".join(kept))
        ctx.reply(ctx.t("rep.kept", text=quoted), buttons=_done_button(ctx))
    else:
        ctx.reply(ctx.t("rep.describe"), buttons=_done_button(ctx))


def _quote(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


@router.command("new")
async def new_command(ctx: Context) -> None:
    await begin(ctx)


@router.button(actions.NEW_REQUEST)
async def new_button(ctx: Context, _data: ButtonData) -> None:
    await begin(ctx)


def _collect(ctx: Context) -> None:
    incoming = ctx.incoming
    data = ctx.data
    texts: list[str] = list(data.get("texts", []))
    photos: list[dict[str, Any]] = list(data.get("photos", []))
    voices: list[dict[str, Any]] = list(data.get("voices", []))
    if len(texts) + len(photos) + len(voices) >= MAX_ITEMS:
        ctx.reply(ctx.t("rep.too_many"), buttons=_done_button(ctx))
        return
    text = incoming.text.strip()
    if text and texts and len(texts[-1]) >= ctx.settings.requests.max_text_length:
        texts[-1] += text  # the channel split one long paste at its limit: join it again
    elif text:
        texts.append(text)
    photos += [{"file_id": p.file_id, "size": p.file_size} for p in incoming.photos]
    if incoming.voice_file_id:
        voices.append({"file_id": incoming.voice_file_id, "duration": incoming.voice_duration})
    ctx.update_data(texts=texts, photos=photos, voices=voices)
    ctx.reply(ctx.t("rep.received"), buttons=_done_button(ctx))


@router.state(S_COLLECT)
async def collect(ctx: Context) -> None:
    if ctx.incoming.kind not in ("text", "photo", "voice"):
        ctx.reply(ctx.t("rep.describe"), buttons=_done_button(ctx))
        return
    _collect(ctx)


@router.button(actions.REPORT_COLLECTED)
async def collected(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_COLLECT:
        await stale_button(ctx)
        return
    texts = ctx.data.get("texts", [])
    if not texts and not ctx.data.get("photos") and not ctx.data.get("voices"):
        ctx.reply(ctx.t("rep.empty"), buttons=_done_button(ctx))
        return
    candidates = classify.suggest(" ".join(texts), top=3) if texts else []
    slugs = [c.category for c in candidates]
    ctx.update_data(suggested=slugs[0] if slugs else None)
    ctx.conversation.state = S_CATEGORY
    if not slugs:
        await _list_categories(ctx)
        return
    categories = {c.slug: c for c in await request_service.list_categories(ctx.session)}
    first = categories.get(slugs[0])
    if first is None:
        await _list_categories(ctx)
        return
    rows = [
        [
            actions.PICK_CATEGORY.button(
                ctx.t("rep.yes_category", category=first.name(ctx.locale)), first.slug
            )
        ]
    ]
    others = [categories[s] for s in slugs[1:] if s in categories]
    if others:
        rows.append([actions.PICK_CATEGORY.button(c.name(ctx.locale), c.slug) for c in others])
    rows.append([actions.ALL_CATEGORIES.button(ctx.t("rep.other_category"))])
    ctx.reply(ctx.t("rep.suggest_category", category=first.name(ctx.locale)), buttons=rows)


async def _list_categories(ctx: Context) -> None:
    categories = await request_service.list_categories(ctx.session)
    buttons = [actions.PICK_CATEGORY.button(c.name(ctx.locale), c.slug) for c in categories]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    ctx.reply(ctx.t("rep.choose_category"), buttons=rows)


@router.button(actions.ALL_CATEGORIES)
async def category_list(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_CATEGORY:
        await stale_button(ctx)
        return
    await _list_categories(ctx)


@router.button(actions.PICK_CATEGORY)
async def category_chosen(ctx: Context, data: ButtonData) -> None:
    category = await request_service.get_category(
        ctx.session, slug=data.args[0] if data.args else ""
    )
    if ctx.state != S_CATEGORY or category is None:
        await stale_button(ctx)
        return
    ctx.update_data(category=category.slug)
    if category.asks_location:
        ctx.conversation.state = S_PLACE
        ctx.reply(
            ctx.t("rep.ask_place"),
            buttons=[
                [
                    actions.PICK_PLACE.button(ctx.t("rep.place_common"), "common"),
                    actions.PICK_PLACE.button(ctx.t("rep.place_own"), "own"),
                ]
            ],
        )
        return
    _ask_urgency(ctx)


@router.button(actions.PICK_PLACE)
async def place_chosen(ctx: Context, data: ButtonData) -> None:
    place = data.args[0] if data.args else ""
    if ctx.state != S_PLACE or place not in ("common", "own"):
        await stale_button(ctx)
        return
    ctx.update_data(place="common_area" if place == "common" else "own_flat")
    _ask_urgency(ctx)


def _ask_urgency(ctx: Context) -> None:
    ctx.conversation.state = S_URGENCY
    ctx.reply(
        ctx.t("rep.ask_urgency"),
        buttons=[
            [
                actions.PICK_URGENCY.button(ctx.t("rep.ordinary"), 0),
                actions.PICK_URGENCY.button(ctx.t("rep.urgent"), 1),
            ]
        ],
    )


@router.button(actions.PICK_URGENCY)
async def urgency_chosen(ctx: Context, data: ButtonData) -> None:
    value = data.int_arg()
    if ctx.state != S_URGENCY or value not in (0, 1):
        await stale_button(ctx)
        return
    if value == 1:
        ctx.update_data(priority=Priority.urgent.value)
        ctx.conversation.state = S_REASON
        ctx.say("rep.ask_urgent_reason")
        return
    ctx.update_data(priority=Priority.ordinary.value, urgent_reason="")
    await _offer_similar(ctx)


@router.state(S_REASON)
async def urgent_reason(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("rep.ask_urgent_reason")
        return
    ctx.update_data(urgent_reason=text[:300])
    await _offer_similar(ctx)


async def _similar(ctx: Context, category: Category, *, limit: int) -> Sequence[Request]:
    """Neighbours' open requests like the one being reported."""
    return await request_service.list_similar_open(
        ctx.session,
        category_id=category.id,
        building_id=ctx.person.building_id,
        compound_id=ctx.person.compound_id,
        exclude_reporter_id=ctx.person.id,
        now=ctx.now,
        days=ctx.settings.requests.similar_days,
        limit=limit,
    )


async def _offer_similar(ctx: Context) -> None:
    category = await request_service.get_category(ctx.session, slug=ctx.data["category"])
    assert category is not None
    similar = await _similar(ctx, category, limit=3)
    if not similar:
        await _confirm(ctx)
        return
    ctx.conversation.state = S_SIMILAR
    lines = [ctx.t("rep.similar_found")]
    rows = []
    for request in similar:
        # Only the reference, status and date: a neighbour's words may name people or phones.
        lines.append(
            f"{request.reference} · {status_name(ctx, request.status)} · "
            f"{when(ctx, request.created_at)}"
        )
        rows.append(
            [actions.ME_TOO.button(ctx.t("rep.me_too", reference=request.reference), request.id)]
        )
    rows.append([actions.SUBMIT_ANYWAY.button(ctx.t("rep.submit_anyway"))])
    ctx.reply("\n".join(lines), buttons=rows)


@router.button(actions.SUBMIT_ANYWAY)
async def submit_anyway(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_SIMILAR:
        await stale_button(ctx)
        return
    await _confirm(ctx)


@router.button(actions.ME_TOO)
async def me_too(ctx: Context, data: ButtonData) -> None:
    request = await ctx.session.get(Request, data.int_arg() or 0)
    category = await request_service.get_category(ctx.session, slug=ctx.data.get("category", ""))
    if ctx.state != S_SIMILAR or request is None or category is None:
        await stale_button(ctx)
        return
    # Re-check: the request must still be one this person could have been offered.
    offered = await _similar(ctx, category, limit=50)
    if request.id not in {r.id for r in offered}:
        await stale_button(ctx)
        return
    if await workflow.follow(ctx.session, request=request, person=ctx.person, now=ctx.now):
        await announce.followed(ctx.session, request=request, settings=ctx.settings)
    ctx.say("rep.following", reference=request.reference)
    show_main_menu(ctx)


async def _confirm(ctx: Context) -> None:
    data = ctx.data
    category = await request_service.get_category(ctx.session, slug=data["category"])
    assert category is not None
    address = await places.describe_address(
        ctx.session,
        compound_id=ctx.person.compound_id,
        building_id=ctx.person.building_id,
        unit_room=ctx.person.unit_room,
        locale=ctx.locale,
    )
    summary = ctx.t(
        "rep.summary",
        category=category.name(ctx.locale),
        address=address,
        place=ctx.t(f"rep.place_{data['place']}") if data.get("place") else "-",
        priority=ctx.t(f"rep.{data.get('priority', 'ordinary')}"),
        description=" / ".join(data.get("texts", [])) or "-",
        photos=len(data.get("photos", [])),
        voices=len(data.get("voices", [])),
    )
    ctx.conversation.state = S_CONFIRM
    ctx.reply(
        summary,
        buttons=[
            [
                actions.SUBMIT.button(ctx.t("rep.submit")),
                org_actions.MENU.button(ctx.t("core.cancel")),
            ]
        ],
    )


@router.button(actions.SUBMIT)
async def submit(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_CONFIRM:
        await stale_button(ctx)
        return
    data = ctx.data
    category = await request_service.get_category(ctx.session, slug=data["category"])
    assert category is not None
    request = await workflow.submit(
        ctx.session,
        reporter=ctx.person,
        category=category,
        description="\n".join(data.get("texts", [])),
        photos=[(p["file_id"], p.get("size"), "photo") for p in data.get("photos", [])]
        + [(v["file_id"], None, "voice") for v in data.get("voices", [])],
        channel=ctx.incoming.channel,
        building_id=ctx.person.building_id,
        compound_id=ctx.person.compound_id,
        place_scope=data.get("place", ""),
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


@router.state(S_CATEGORY, S_PLACE, S_URGENCY, S_SIMILAR, S_CONFIRM)
async def use_buttons(ctx: Context) -> None:
    ctx.say("rep.use_buttons")
