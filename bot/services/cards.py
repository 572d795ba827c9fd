"""What the workflow pushes, rendered per recipient locale: request cards and status notices.

Every message names the request's reference, so a person with several requests always knows
which one a push is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import buttons
from bot.config import Settings
from bot.i18n import catalog, moment, t
from bot.messages import Button, Outgoing
from bot.services import erasure
from models import Building, Category, Compound, Priority, Request

# Button actions carried in "v1:<action>:<request id>" data (see bot.buttons).
ACCEPT = "acc"
RETURN = "ret"
TRANSFER = "trf"  # handled by handlers/staff_actions.py
RATE = "ev"  # starts the evaluation flow (handlers/evaluate.py)


@dataclass(frozen=True, slots=True)
class CardContext:
    """What a request card shows besides the request itself."""

    request: Request
    category: Category
    compound: Compound | None
    building: Building | None
    settings: Settings
    photos: tuple[str, ...] = ()  # the request's photos (file ids): the card carries them


def when(value: datetime | None, settings: Settings, locale: str) -> str:
    """A deadline in the district's time zone, as people read it (`bot.i18n.moment`)."""
    return moment(value, locale, settings.tz)


def place_text(ctx: CardContext, locale: str) -> str:
    """Compound and building, else the address text, else the coordinates."""
    parts: list[str] = []
    if ctx.compound is not None:
        parts.append(ctx.compound.name(locale))
    if ctx.building is not None:
        parts.append(t(locale, "workflow.building", number=ctx.building.number))
    if ctx.request.address_text:
        parts.append(ctx.request.address_text)
    if parts:
        return " ".join(parts)
    if ctx.request.lat is not None and ctx.request.lon is not None:
        return f"{ctx.request.lat:.5f}, {ctx.request.lon:.5f}"
    return t(locale, "workflow.place_unknown")


def card(ctx: CardContext, locale: str, *, heading: str, with_buttons: bool = True) -> Outgoing:
    """A request card for the owner unit's staff; `heading` is a workflow.card_heading.* key."""
    request = ctx.request
    lines = [
        t(locale, f"workflow.card_heading.{heading}", reference=request.reference),
        t(
            locale,
            "workflow.card",
            reference=request.reference,
            category=ctx.category.name(locale),
            place=place_text(ctx, locale),
            description=erasure.shown(request.description, locale),
            accept_by=when(request.accept_by, ctx.settings, locale),
            resolve_by=when(request.resolve_by, ctx.settings, locale),
        ),
    ]
    if request.priority != Priority.ordinary:
        lines.append(
            t(
                locale,
                f"workflow.priority.{request.priority.value}",
                reason=erasure.shown(request.urgent_reason, locale) or "-",
            )
        )
    rows: list[list[Button]] = []
    if with_buttons:
        rows.append(
            [
                Button(t(locale, "workflow.button.accept"), buttons.encode(ACCEPT, request.id)),
                Button(t(locale, "workflow.button.return"), buttons.encode(RETURN, request.id)),
                Button(t(locale, "workflow.button.transfer"), buttons.encode(TRANSFER, request.id)),
            ]
        )
    return Outgoing(text="\n".join(lines), buttons=rows, album=list(ctx.photos))


def notice(
    request: Request,
    locale: str,
    *,
    key: str,
    note: str = "",
    follower: bool = False,
    **params: str,
) -> Outgoing:
    """A short notice about a request: `workflow.<key>` plus the note, if any. A follower ("me
    too") gets `workflow.<key>.follower` where the reporter's text asks for something only the
    reporter can do (rate, add information), and no button to do it."""
    if follower and f"workflow.{key}.follower" in catalog(locale):
        key = f"{key}.follower"
    text = t(locale, f"workflow.{key}", reference=request.reference, **params)
    if note:
        text += "\n" + t(locale, "workflow.note", note=erasure.shown(note, locale))
    rows: list[list[Button]] = []
    if key == "notify.resolved":
        rows.append([Button(t(locale, "workflow.button.rate"), buttons.encode(RATE, request.id))])
    return Outgoing(text=text, buttons=rows)
