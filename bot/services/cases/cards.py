"""What the workflow pushes, rendered per recipient locale: request cards and status notices.

Every message names the request's reference, so a person with several requests always knows
which one a push is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.i18n import catalog, moment, t
from bot.messages import Button, Outgoing
from bot.services.cases import actions
from bot.services.org import erasure
from bot.services.storage import attachments
from models import Building, Category, Compound, Priority, Request
from models.person import DEMO_CHANNEL

ALBUM_SIZE = 10  # photos sent with a card at most (one Telegram media group)
# Channels that show another channel's photo by fetching it from that channel when someone
# with the right opens it (the web chat: bot/web/media.py); the album names such a photo
# `remote_photo(origin, file id)`.
FETCHING_CHANNELS = ("webchat", DEMO_CHANNEL)
REMOTE = "remote:"


def remote_photo(origin: str, file_id: str) -> str:
    """An album entry for a photo kept as another channel's file id."""
    return f"{REMOTE}{origin}:{file_id}"


@dataclass(frozen=True, slots=True)
class Reporter:
    """What staff see of the resident who reported: the name masked, the room when the request
    is about their own building, whether they left a phone number (shown only on a tap)."""

    name: str = ""
    room: str = ""
    has_phone: bool = False


@dataclass(frozen=True, slots=True)
class CardContext:
    """What a request card shows besides the request itself."""

    request: Request
    category: Category
    compound: Compound | None
    building: Building | None
    settings: Settings
    reporter: Reporter | None = None
    # The request's photos as (channel, file id), oldest first.
    photos: tuple[tuple[str, str], ...] = ()


def when(value: datetime | None, settings: Settings, locale: str) -> str:
    """A deadline in the district's time zone, as people read it (`bot.i18n.moment`)."""
    return moment(value, locale, settings.tz)


def place_text(ctx: CardContext, locale: str, *, with_room: bool = False) -> str:
    """Compound and building (`with_room`: then the room, or "common area"), else the address
    text, else the coordinates."""
    parts: list[str] = []
    if ctx.compound is not None:
        parts.append(ctx.compound.name(locale))
    if ctx.building is not None:
        parts.append(t(locale, "workflow.building", number=ctx.building.number))
    if with_room and ctx.request.place_scope == "common_area":
        parts.append(t(locale, "cards.common_area"))
    elif with_room and ctx.reporter is not None and ctx.reporter.room:
        parts.append(ctx.reporter.room)
    if ctx.request.address_text:
        parts.append(ctx.request.address_text)
    if parts:
        return " ".join(parts)
    if ctx.request.lat is not None and ctx.request.lon is not None:
        return f"{ctx.request.lat:.5f}, {ctx.request.lon:.5f}"
    return t(locale, "workflow.place_unknown")


def resident_line(ctx: CardContext, locale: str, *, phone: str | None = None) -> str | None:
    """Who reported, as staff see them: the name masked, the phone only once revealed."""
    if ctx.reporter is None:
        return None
    name = ctx.reporter.name or t(locale, "cards.no_name")
    if phone:
        return t(locale, "cards.resident_phone", name=name, phone=phone)
    return t(locale, "cards.resident", name=name)


def body(ctx: CardContext, locale: str, *, phone: str | None = None) -> str:
    """The request as staff work from it: reference, category, place with the room, the
    resident, the description and the deadlines."""
    request = ctx.request
    lines = [
        t(
            locale,
            "workflow.card",
            reference=request.reference,
            category=ctx.category.name(locale),
            place=place_text(ctx, locale, with_room=True),
            description=erasure.shown(request.description, locale),
            accept_by=when(request.accept_by, ctx.settings, locale),
            resolve_by=when(request.resolve_by, ctx.settings, locale),
        )
    ]
    if (resident := resident_line(ctx, locale, phone=phone)) is not None:
        lines.append(resident)
    return "\n".join(lines)


def phone_button(ctx: CardContext, locale: str) -> Button | None:
    """ "Show phone" when the reporter left a number (the press re-checks who may see it)."""
    if ctx.reporter is None or not ctx.reporter.has_phone:
        return None
    return actions.SHOW_PHONE.button(t(locale, "cards.button.phone"), ctx.request.id)


def card(ctx: CardContext, locale: str, *, heading: str, with_buttons: bool = True) -> Outgoing:
    """A request card for the owner unit's staff; `heading` is a workflow.card_heading.* key."""
    request = ctx.request
    lines = [
        t(locale, f"workflow.card_heading.{heading}", reference=request.reference),
        body(ctx, locale),
    ]
    if ctx.photos:
        lines.append(t(locale, "cards.photos", count=len(ctx.photos)))
    if request.priority != Priority.ordinary:
        lines.append(
            t(
                locale,
                f"workflow.priority.{request.priority.value}",
                reason=erasure.shown(request.urgent_reason, locale)
                or t(locale, "next_steps.not_given"),
            )
        )
    rows: list[list[Button]] = []
    if with_buttons:
        rows.append(
            [
                actions.ACCEPT.button(t(locale, "workflow.button.accept"), request.id),
                actions.RETURN.button(t(locale, "workflow.button.return"), request.id),
                actions.TRANSFER.button(t(locale, "workflow.button.transfer"), request.id),
            ]
        )
        if (phone := phone_button(ctx, locale)) is not None:
            rows.append([phone])
    return Outgoing(text="\n".join(lines), buttons=rows)


def channel_album(photos: Iterable[tuple[str, str]], channel: str, upload_dir: Path) -> list[str]:
    """Photos given as (channel, file id) as `channel` can show them: the ones sent on that
    channel by their file ids, web chat uploads as files (another channel uploads them), and
    on a channel that fetches them (FETCHING_CHANNELS) the rest as `remote_photo`s."""
    shown: list[str] = []
    for origin, file_id in photos:
        if origin == channel:
            shown.append(file_id)
        elif (path := attachments.photo_path(upload_dir, file_id)) is not None:
            shown.append(str(path.resolve()))
        elif channel in FETCHING_CHANNELS:
            shown.append(remote_photo(origin, file_id))
    return shown[:ALBUM_SIZE]


def album_for(ctx: CardContext, channel: str) -> list[str]:
    """The request's photos as `channel` can show them (`channel_album`)."""
    return channel_album(ctx.photos, channel, ctx.settings.webchat.upload_dir)


def with_album(message: Outgoing, ctx: CardContext, channel: str) -> Outgoing:
    """A card with the request's photos sent before it, as the recipient's channel shows them."""
    album = album_for(ctx, channel)
    return replace(message, album=album) if album else message


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
        rows.append([actions.RATE.button(t(locale, "workflow.button.rate"), request.id)])
    return Outgoing(text=text, buttons=rows)
