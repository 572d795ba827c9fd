"""What the staff flows share: loading a request within the presser's scope, and the staff
view of a request (card, counts, recent history, and the actions its status allows)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.buttons import ButtonData, encode
from bot.core.context import Context
from bot.exceptions import InvalidTransition
from bot.messages import Button
from bot.services import announce, cards, erasure, queue, workflow
from bot.services import requests as request_service
from handlers.render import when
from models import OrgUnit, Request, RequestEvent, RequestPhoto, Visibility

Action = workflow.Action
HISTORY = 5
ACCEPT, RETURN, TRANSFER = cards.ACCEPT, cards.RETURN, cards.TRANSFER

# (action the workflow must allow, label key, button action), in display order.
ACTION_BUTTONS: tuple[tuple[Action, str, str], ...] = (
    (Action.accept, "staff.button.accept", ACCEPT),
    (Action.start, "staff.button.start", "sst"),
    (Action.contact, "staff.button.contact", "sct"),
    (Action.note, "staff.button.public_note", "snp"),
    (Action.note, "staff.button.internal_note", "sni"),
    (Action.ask_info, "staff.button.ask_info", "sai"),
    (Action.resolve, "staff.button.resolve", "srs"),
    (Action.return_, "staff.button.return", RETURN),
    (Action.transfer, "staff.button.transfer", TRANSFER),
    (Action.merge, "staff.button.merge", "smg"),
)
# Buttons for any open request the presser may work on.
OPEN_BUTTONS: tuple[tuple[str, str], ...] = (
    ("staff.button.photos", "sph"),
    ("staff.button.category", "scat"),
    ("staff.button.meeting", "mtnew"),  # handlers/meeting.py convenes from it
    ("staff.button.whistle", "swh"),  # handlers/staff_help.py
    ("staff.button.task", "stk"),
)


async def load(ctx: Context, request_id: int | None) -> Request:
    """The request a button or state names, if it lies in the person's staff scope now."""
    return await queue.get_in_scope(
        ctx.session, person_id=ctx.person.id, request_id=request_id or 0
    )


async def from_button(ctx: Context, data: ButtonData) -> Request:
    return await load(ctx, data.int_arg())


async def from_state(ctx: Context) -> Request:
    return await load(ctx, int(ctx.data.get("request_id", 0)))


def require_status(request: Request, action: Action) -> None:
    """Refuse early, before asking for text, when the status does not allow the action."""
    if request.status not in workflow.RULES[action].sources:
        raise InvalidTransition(
            "workflow.error.not_allowed_from", status=request.status.value, action=action.value
        )


def cancel_row(ctx: Context) -> list[Button]:
    return [Button(ctx.t("staff.button.cancel"), encode("scx"))]


async def _history(ctx: Context, request: Request) -> list[str]:
    query = (
        select(RequestEvent)
        .where(RequestEvent.request_id == request.id)
        .order_by(RequestEvent.id.desc())
        .limit(HISTORY)
    )
    lines = []
    for event in reversed(list((await ctx.session.execute(query)).scalars())):
        status = ctx.t(f"workflow.status.{event.to_status}") if event.to_status else ""
        label = ctx.t(f"staff.event.{event.kind}") if event.kind in EVENT_KINDS else event.kind
        key = (
            "staff.history_internal" if event.visibility == Visibility.internal else "staff.history"
        )
        shown = erasure.shown(event.note, ctx.locale)
        note = ctx.t("staff.history_note", note=shown) if event.note else ""
        lines.append(ctx.t(key, at=when(ctx, event.at), event=label, status=status, note=note))
    return lines


EVENT_KINDS = frozenset({a.value for a in Action} | {"submitted", "routed"})


async def view_text(ctx: Context, request: Request) -> str:
    """The request as staff see it: card, owner, counts, deadline group and recent history."""
    card = await announce.card_context(ctx.session, request=request, settings=ctx.settings)
    owner = await ctx.session.get(OrgUnit, request.owner_unit_id)
    photos = await ctx.session.execute(
        select(func.count()).where(RequestPhoto.request_id == request.id)
    )
    group = queue.group_of(request, now=ctx.now, settings=ctx.settings)
    lines = [
        ctx.t(
            "staff.view_heading",
            reference=request.reference,
            status=ctx.t(f"workflow.status.{request.status.value}"),
            unit=owner.name(ctx.locale) if owner else "-",
        ),
        ctx.t(
            "workflow.card",
            reference=request.reference,
            category=card.category.name(ctx.locale),
            place=cards.place_text(card, ctx.locale),
            description=erasure.shown(request.description, ctx.locale),
            accept_by=when(ctx, request.accept_by),
            resolve_by=when(ctx, request.resolve_by),
        ),
        ctx.t(
            "staff.view_counts",
            followers=await request_service.count_followers(ctx.session, request_id=request.id),
            photos=int(photos.scalar_one()),
        ),
    ]
    if request.status in workflow.OPEN:
        lines.append(ctx.t(f"staff.group.{group.value}"))
    history = await _history(ctx, request)
    if history:
        lines += ["", ctx.t("staff.history_heading"), *history]
    return "\n".join(lines)


async def view_buttons(ctx: Context, request: Request) -> list[list[Button]]:
    """The actions the status allows and the presser may do, two per row."""
    allowed = set(workflow.allowed_actions(request.status))
    found: list[Button] = []
    may: dict[Action, bool] = {}
    for action, key, button in ACTION_BUTTONS:
        if action not in allowed:
            continue
        if action == Action.contact and request.contacted_at is not None:
            continue
        if action not in may:
            may[action] = await workflow.may(
                ctx.session, request=request, action=action, actor=ctx.person
            )
        if may[action]:
            found.append(Button(ctx.t(key), encode(button, request.id)))
    if request.status in workflow.OPEN and may.get(Action.note, False):
        found += [Button(ctx.t(key), encode(button, request.id)) for key, button in OPEN_BUTTONS]
    rows = [found[i : i + 2] for i in range(0, len(found), 2)]
    rows.append([Button(ctx.t("staff.button.queue"), encode("sq", 0))])
    return rows


async def show(ctx: Context, request: Request, *, key: str | None = None) -> None:
    """Reply with the staff view (after an optional one-line message), leaving any flow."""
    ctx.goto("")
    text = await view_text(ctx, request)
    if key is not None:
        text = ctx.t(key, reference=request.reference) + "\n\n" + text
    ctx.reply(text, buttons=await view_buttons(ctx, request), album=await _album(ctx, request))


async def _album(ctx: Context, request: Request) -> list[str]:
    """The request's photos (file ids), oldest first: the card carries them."""
    query = select(RequestPhoto.file_id).where(
        RequestPhoto.request_id == request.id, RequestPhoto.kind == "photo"
    )
    return list(await ctx.session.scalars(query.order_by(RequestPhoto.id)))
