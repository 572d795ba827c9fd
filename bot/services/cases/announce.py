"""Who hears of a request's change: reporter and followers, the owner unit's staff, and units
kept informed. Each function only writes outbox rows (through `notify`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cases import card_copies, cards
from bot.services.comms import notify
from bot.services.org import erasure, people, scope
from models import (
    Building,
    Category,
    ChannelIdentity,
    Compound,
    Evaluation,
    OrgUnit,
    OutboxMessage,
    Person,
    Priority,
    Request,
    RequestFollower,
    RequestPhoto,
    Role,
)


async def _reporter(session: AsyncSession, request: Request) -> cards.Reporter | None:
    """The reporter as staff see them (None when nobody is on file, or they were erased)."""
    person = await session.get(Person, request.reporter_id) if request.reporter_id else None
    if person is None or person.deleted_at is not None:
        return None
    at_home = request.building_id is not None and person.building_id == request.building_id
    return cards.Reporter(
        name=people.mask_name(person.display_name) if person.display_name else "",
        room=person.unit_room if at_home else "",
        has_phone=bool(person.phone),
    )


async def card_context(
    session: AsyncSession, *, request: Request, settings: Settings
) -> cards.CardContext:
    """Everything a request card shows, loaded explicitly."""
    category = await session.get(Category, request.category_id)
    assert category is not None  # a foreign key guarantees it
    compound = await session.get(Compound, request.compound_id) if request.compound_id else None
    building = await session.get(Building, request.building_id) if request.building_id else None
    photos = await session.execute(
        select(RequestPhoto.channel, RequestPhoto.file_id)
        .where(RequestPhoto.request_id == request.id, RequestPhoto.kind == "photo")
        .order_by(RequestPhoto.id)
    )
    return cards.CardContext(
        request,
        category,
        compound,
        building,
        settings,
        reporter=await _reporter(session, request),
        photos=tuple((channel, file_id) for channel, file_id in photos),
    )


async def followers(session: AsyncSession, *, request_id: int) -> list[int]:
    """Ids of the people following a request ("me too")."""
    query = select(RequestFollower.person_id).where(RequestFollower.request_id == request_id)
    return list((await session.execute(query)).scalars())


def _urgent(request: Request) -> bool:
    return request.priority != Priority.ordinary


def _with_note(message: Outgoing, locale: str, note: str) -> Outgoing:
    if note:
        message.text += "\n" + t(locale, "workflow.note", note=note)
    return message


async def residents(
    session: AsyncSession,
    *,
    request: Request,
    key: str,
    note: str = "",
    exclude: Iterable[int] = (),
    settings: Settings,
    reporters_words: bool = False,
    owner: OrgUnit | None = None,
    **params: str,
) -> list[OutboxMessage]:
    """Tell the reporter and the followers: `workflow.<key>` with the reference and the note.

    `reporters_words`: the note is the reporter's own (an addition, a reason, a comment); the
    followers then hear of the change without it. `owner`: the unit that has the request,
    named in each reader's language as `{grid}`."""
    following = select(RequestFollower.person_id).where(RequestFollower.request_id == request.id)
    # (who, the note they see, whether they follow): followers can neither rate nor add
    # information, and never see the reporter's own words.
    groups: list[tuple[ColumnElement[bool], str, bool]] = []
    if request.reporter_id is not None:
        groups.append((ChannelIdentity.person_id == request.reporter_id, note, False))
    groups.append((ChannelIdentity.person_id.in_(following), "" if reporters_words else note, True))
    rows: list[OutboxMessage] = []
    skip = sorted(set(exclude))
    for who, text, follower in groups:
        rows += await notify.notify_where(
            session,
            who=(who & ChannelIdentity.person_id.not_in(skip)) if skip else who,
            render=lambda loc, text=text, follower=follower: cards.notice(  # type: ignore[misc]
                request, loc, key=key, note=text, follower=follower, **_named(owner, loc), **params
            ),
            request_id=request.id,
            settings=settings,
        )
    return rows


def _named(owner: OrgUnit | None, locale: str) -> dict[str, str]:
    return {"grid": owner.name(locale)} if owner is not None else {}


async def owner_card(
    session: AsyncSession,
    *,
    request: Request,
    heading: str,
    note: str = "",
    exclude: Iterable[int] = (),
    settings: Settings,
) -> list[OutboxMessage]:
    """Push the request card, with Accept/Return, to the staff of the owner unit (the photos
    only to those who have not had them)."""
    ctx = await card_context(session, request=request, settings=settings)
    had = await card_copies.had_album(session, request_id=request.id)
    rows = await notify.notify_unit(
        session,
        unit_id=request.owner_unit_id,
        roles=scope.STAFF_ROLES,
        render=lambda loc: _with_note(cards.card(ctx, loc, heading=heading), loc, note),
        request_id=request.id,
        urgent=_urgent(request),
        settings=settings,
        exclude=exclude,
        adapt=lambda message, channel: cards.with_album(message, ctx, channel),
    )
    card_copies.album_once(rows, had)
    return rows


async def informed(
    session: AsyncSession,
    *,
    request: Request,
    unit_id: int,
    roles: Iterable[Role],
    settings: Settings,
) -> list[OutboxMessage]:
    """Push the card without buttons to a unit kept informed (grid of a steward's request...)."""
    ctx = await card_context(session, request=request, settings=settings)
    had = await card_copies.had_album(session, request_id=request.id)
    rows = await notify.notify_unit(
        session,
        unit_id=unit_id,
        roles=roles,
        render=lambda loc: cards.card(ctx, loc, heading="informed", with_buttons=False),
        request_id=request.id,
        urgent=_urgent(request),
        settings=settings,
        adapt=lambda message, channel: cards.with_album(message, ctx, channel),
    )
    card_copies.album_once(rows, had)
    return rows


async def _tell_owner(
    session: AsyncSession,
    request: Request,
    render: Callable[[str], Outgoing],
    settings: Settings,
    exclude: Iterable[int] = (),
) -> list[OutboxMessage]:
    """Push to the owner unit's staff and the request's assignee."""
    staff = set(
        await notify.unit_members(session, unit_id=request.owner_unit_id, roles=scope.STAFF_ROLES)
    )
    if request.assignee_id is not None:
        staff.add(request.assignee_id)
    return await notify.notify_persons(
        session,
        person_ids=staff - set(exclude),
        render=render,
        request_id=request.id,
        settings=settings,
    )


async def owner_notice(
    session: AsyncSession,
    *,
    request: Request,
    key: str,
    note: str = "",
    exclude: Iterable[int] = (),
    settings: Settings,
) -> list[OutboxMessage]:
    """Tell the owner unit's staff and the assignee: `workflow.<key>` with the note."""
    return await _tell_owner(
        session,
        request,
        lambda loc: cards.notice(request, loc, key=key, note=note),
        settings,
        exclude,
    )


async def followed(session: AsyncSession, *, request: Request, settings: Settings) -> None:
    """Tell the owner's staff that one more household has the same problem ("me too")."""
    households = str(1 + len(await followers(session, request_id=request.id)))
    await _tell_owner(
        session,
        request,
        lambda loc: cards.notice(request, loc, key="staff.followed", n=households),
        settings,
    )


async def rated(
    session: AsyncSession, *, request: Request, evaluation: Evaluation, settings: Settings
) -> None:
    """Tell the owner's staff how the reporter judged the result, with their comment."""

    def render(locale: str) -> Outgoing:
        message = cards.notice(
            request,
            locale,
            key="staff.rated",
            solved=_judgement(locale, evaluation.solved),
            satisfaction=_judgement(locale, evaluation.satisfaction),
        )
        return _with_note(message, locale, erasure.shown(evaluation.comment, locale))

    await _tell_owner(session, request, render, settings)


def _judgement(locale: str, value: str) -> str:
    return t(locale, f"ev.{value}") if value != "none" else t(locale, "next_steps.not_answered")
