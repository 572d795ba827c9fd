"""What the staff flows share: loading a request within the presser's scope, and the staff
view of a request (card, counts, recent history, and the actions its status allows)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.buttons import ButtonAction, ButtonData
from bot.core.context import Context
from bot.exceptions import InvalidTransition
from bot.i18n import catalog
from bot.messages import Button
from bot.services.cases import actions, announce, cards, queue, workflow
from bot.services.cases import lookup as request_service
from bot.services.dispatch import explain
from bot.services.meetings import actions as meetings_actions
from bot.services.org import erasure
from handlers.cases.render import when
from models import EventKind, OrgUnit, Request, RequestEvent, RequestPhoto, Visibility

Action = workflow.Action
HISTORY = 5

# (action the workflow must allow, label key, button action), in display order.
ACTION_BUTTONS: tuple[tuple[Action, str, ButtonAction], ...] = (
    (Action.accept, "staff.button.accept", actions.ACCEPT),
    (Action.start, "staff.button.start", actions.START),
    (Action.contact, "staff.button.contact", actions.CONTACT),
    (Action.note, "staff.button.public_note", actions.PUBLIC_NOTE),
    (Action.note, "staff.button.internal_note", actions.INTERNAL_NOTE),
    (Action.ask_info, "staff.button.ask_info", actions.ASK_INFO),
    (Action.resolve, "staff.button.resolve", actions.RESOLVE),
    (Action.return_, "staff.button.return", actions.RETURN),
    (Action.transfer, "staff.button.transfer", actions.TRANSFER),
    (Action.merge, "staff.button.merge", actions.MERGE),
)
# The actions a card shows first, in this order (four at most); the rest are behind "more":
# a request waiting to be accepted, and one being worked on.
PRIMARY_PENDING: tuple[ButtonAction, ...] = (
    actions.ACCEPT,
    actions.RETURN,
    actions.TRANSFER,
    actions.SHOW_PHONE,
)
PRIMARY_WORKING: tuple[ButtonAction, ...] = (
    actions.START,
    actions.CONTACT,
    actions.RESOLVE,
    actions.SHOW_PHONE,
    actions.PUBLIC_NOTE,
    actions.ASK_INFO,
    actions.INTERNAL_NOTE,
)
PRIMARY_COUNT = 4
# Behind "更多操作", what the card does not show, commonest first, in pages of four actions
# with "其他操作 ▸" and "◀ 收起" (the last page takes five and "◀ 收起"): six buttons at most,
# one WeCom card, three Telegram rows, six numbered choices on WeChat.
MORE_ORDER: tuple[ButtonAction, ...] = (
    actions.INTERNAL_NOTE,
    actions.PUBLIC_NOTE,
    actions.ASK_INFO,
    actions.ADD_PHOTOS,
    actions.CONTACT,
    actions.WHISTLE,
    actions.VOLUNTEER_TASK,
    actions.TRANSFER,
    actions.RETURN,
    meetings_actions.CONVENE,
    actions.MERGE,
    actions.CHANGE_CATEGORY,
)
PAGE_ACTIONS = 4
# Buttons for any open request the presser may work on.
OPEN_BUTTONS: tuple[tuple[str, ButtonAction], ...] = (
    ("staff.button.photos", actions.ADD_PHOTOS),
    ("staff.button.category", actions.CHANGE_CATEGORY),
    ("staff.button.meeting", meetings_actions.CONVENE),  # handlers/meetings/convene.py
    ("staff.button.whistle", actions.WHISTLE),  # handlers/cases/staff_help.py
    ("staff.button.task", actions.VOLUNTEER_TASK),
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
    return [actions.STAFF_CANCEL.button(ctx.t("staff.button.cancel"))]


def status_word(ctx: Context, status: str) -> str:
    """A status as staff read it: their own word where the residents' would mislead
    (a request waiting to be accepted is 待签收 to staff, 已受理 to its reporter)."""
    key = f"staff.status.{status}"
    return ctx.t(key) if key in catalog(ctx.locale) else ctx.t(f"workflow.status.{status}")


async def _history(ctx: Context, request: Request) -> list[str]:
    query = (
        select(RequestEvent)
        .where(RequestEvent.request_id == request.id)
        .order_by(RequestEvent.id.desc())
        .limit(HISTORY)
    )
    lines = []
    for event in reversed(list((await ctx.session.execute(query)).scalars())):
        status = status_word(ctx, event.to_status) if event.to_status else ""
        label = ctx.t(f"staff.event.{event.kind}") if event.kind in EVENT_KINDS else event.kind
        key = (
            "staff.history_internal" if event.visibility == Visibility.internal else "staff.history"
        )
        shown = erasure.shown(event.note, ctx.locale)
        if event.kind == "routed":  # told as its rule and why, in the reader's language
            label, shown = await explain.describe(
                ctx.session, detail=event.detail, note=event.note, locale=ctx.locale
            )
        note = ctx.t("staff.history_note", note=shown) if shown else ""
        lines.append(ctx.t(key, at=when(ctx, event.at), event=label, status=status, note=note))
    return lines


EVENT_KINDS = frozenset({a.value for a in Action} | {EventKind.submitted, EventKind.routed})


async def view_text(
    ctx: Context, request: Request, card: cards.CardContext, *, phone: str | None = None
) -> str:
    """The request as staff see it: card, owner, counts, deadline group and recent history."""
    owner = await ctx.session.get(OrgUnit, request.owner_unit_id)
    photos = await ctx.session.execute(
        select(func.count()).where(RequestPhoto.request_id == request.id)
    )
    group = queue.group_of(request, now=ctx.now, settings=ctx.settings)
    lines = [
        ctx.t(
            "staff.view_heading",
            reference=request.reference,
            status=status_word(ctx, request.status.value),
            unit=owner.name(ctx.locale) if owner else "-",
        ),
        cards.body(card, ctx.locale, phone=phone),
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


async def _actions(ctx: Context, request: Request) -> list[tuple[ButtonAction, Button]]:
    """(button action, button) for what the status allows and the presser may do."""
    allowed = set(workflow.allowed_actions(request.status))
    found: list[tuple[ButtonAction, Button]] = []
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
            found.append((button, button.button(ctx.t(key), request.id)))
    if request.status in workflow.OPEN and may.get(Action.note, False):
        found += [(b, b.button(ctx.t(key), request.id)) for key, b in OPEN_BUTTONS]
    return found


def _pairs(buttons: list[Button]) -> list[list[Button]]:
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def _more_rank(action: ButtonAction) -> int:
    return MORE_ORDER.index(action) if action in MORE_ORDER else len(MORE_ORDER)


def more_pages(buttons: list[Button]) -> list[list[Button]]:
    """The buttons behind "更多操作" as pages: four each, the last up to five."""
    pages = []
    while len(buttons) > PAGE_ACTIONS + 1:
        pages.append(buttons[:PAGE_ACTIONS])
        buttons = buttons[PAGE_ACTIONS:]
    return [*pages, buttons]


async def view_buttons(
    ctx: Context, request: Request, card: cards.CardContext, *, page: int = 0
) -> list[list[Button]]:
    """At most four primary actions (what the status calls for first), "more actions" and the
    queue; `page` 1, 2...: the rest of what the status allows and the presser may do, a page
    at a time (`more_pages`). Computed again at every press."""
    found = await _actions(ctx, request)
    if (phone := cards.phone_button(card, ctx.locale)) is not None:
        found.append((actions.SHOW_PHONE, phone))
    order = PRIMARY_PENDING if any(a == actions.ACCEPT for a, _ in found) else PRIMARY_WORKING
    ranked = sorted((a for a, _ in found if a in order), key=order.index)[:PRIMARY_COUNT]
    if page <= 0:
        rows = _pairs([button for action, button in found if action in ranked])
        more = actions.MORE_ACTIONS.button(ctx.t("cards.button.more"), request.id)
        rows.append([more, actions.QUEUE.button(ctx.t("staff.button.queue"), 0)])
        return rows
    rest = sorted(((a, b) for a, b in found if a not in ranked), key=lambda f: _more_rank(f[0]))
    pages = more_pages([button for _, button in rest])
    page = min(page, len(pages))
    rows = _pairs(pages[page - 1])
    nav = [actions.QUEUE_OPEN.button(ctx.t("cards.button.less"), request.id)]
    if page < len(pages):
        label = ctx.t("staff_menus.other_actions")
        nav.insert(0, actions.OTHER_ACTIONS.button(label, request.id, page + 1))
    rows.append(nav)
    return rows


async def show(
    ctx: Context,
    request: Request,
    *,
    key: str | None = None,
    phone: str | None = None,
    page: int = 0,
) -> None:
    """Reply with the staff view (after an optional one-line message), leaving any flow. A
    press edits the message it was on (the card staff work from) instead of adding one."""
    ctx.goto("")
    card = await announce.card_context(ctx.session, request=request, settings=ctx.settings)
    text = await view_text(ctx, request, card, phone=phone)
    if key is not None:
        text = ctx.t(key, reference=request.reference) + "\n\n" + text
    buttons = await view_buttons(ctx, request, card, page=page)
    if phone is not None:  # shown: the tap has done its work
        shown = actions.SHOW_PHONE.data(request.id)
        buttons = [[b for b in row if b.data != shown] for row in buttons]
    message = ctx.reply(text, buttons=[row for row in buttons if row])
    # The request's photos with the card when it is opened (/queue, /find), not when an
    # action, 更多操作 or 显示电话 edits it: the chat has them already (and a Telegram edit
    # keeps the text only).
    if key is None and phone is None and not page:
        message.album = cards.album_for(card, ctx.incoming.channel)
    if ctx.incoming.kind == "button":
        message.edit_message_id = ctx.incoming.message_id
