"""Pushes as outbox rows: one per reachable channel identity of each recipient. No sending."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import DEFAULT_LOCALE, pick_locale
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from models import ChannelIdentity, OutboxMessage, Person, Role, RoleGrant

Render = Callable[[str], Outgoing]
# A rendered message made fit for one channel (the photos that channel can show...).
Adapt = Callable[[Outgoing, str], Outgoing]


def _of_kind(message: Outgoing, kind: str, request_id: int | None) -> Outgoing:
    """The push with its kind (bot.messages.PUSH_KINDS): the one given, or "status" for a
    push about a request, else "notice". A command menu is no push."""
    if message.kind or message.menu is not None:
        return message
    return replace(message, kind=kind or ("status" if request_id is not None else "notice"))


def _default_locale(settings: Settings | None) -> str:
    return settings.locale.default if settings is not None else DEFAULT_LOCALE


async def notify_persons(
    session: AsyncSession,
    *,
    person_ids: Iterable[int],
    render: Render,
    request_id: int | None = None,
    urgent: bool = False,
    settings: Settings | None = None,
    kind: str = "",
) -> list[OutboxMessage]:
    """Write one outbox row per reachable identity of each (not deleted) person."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    return await notify_where(
        session,
        who=ChannelIdentity.person_id.in_(ids),
        render=render,
        request_id=request_id,
        urgent=urgent,
        settings=settings,
        kind=kind,
    )


async def notify_where(
    session: AsyncSession,
    *,
    who: ColumnElement[bool],
    render: Render,
    request_id: int | None = None,
    urgent: bool = False,
    settings: Settings | None = None,
    adapt: Adapt | None = None,
    kind: str = "",
) -> list[OutboxMessage]:
    """`notify_persons` for the people a condition on ChannelIdentity.person_id picks (a
    subquery of followers, of a unit's staff...), found in the same statement; `adapt` fits
    each rendered message to the recipient's channel."""
    query = (
        select(ChannelIdentity, Person.language)
        .join(Person, Person.id == ChannelIdentity.person_id)
        .where(who, ChannelIdentity.unreachable_at.is_(None), Person.deleted_at.is_(None))
        .order_by(ChannelIdentity.person_id, ChannelIdentity.id)
    )
    default = _default_locale(settings)
    rendered: dict[str, Outgoing] = {}  # one render per locale, however many recipients
    fitted: dict[tuple[str, str], Outgoing] = {}  # and one fitting per channel
    rows: list[OutboxMessage] = []
    for identity, language in (await session.execute(query)).all():
        locale = pick_locale(language, None, default)
        if locale not in rendered:
            rendered[locale] = _of_kind(render(locale), kind, request_id)
        key = (locale, identity.channel)
        if key not in fitted:
            message = rendered[locale]
            fitted[key] = adapt(message, identity.channel) if adapt else message
        rows.append(
            await enqueue(
                session,
                channel=identity.channel,
                chat_id=identity.chat_id,
                message=fitted[key],
                person_id=identity.person_id,
                request_id=request_id,
                urgent=urgent,
                flush=False,
            )
        )
    await session.flush()
    return rows


async def notify_person(
    session: AsyncSession,
    *,
    person_id: int,
    render: Render,
    request_id: int | None = None,
    urgent: bool = False,
    settings: Settings | None = None,
    kind: str = "",
) -> list[OutboxMessage]:
    """Write one outbox row per reachable channel identity of the person."""
    return await notify_persons(
        session,
        person_ids=[person_id],
        render=render,
        request_id=request_id,
        urgent=urgent,
        settings=settings,
        kind=kind,
    )


async def unit_members(session: AsyncSession, *, unit_id: int, roles: Iterable[Role]) -> list[int]:
    """Ids of the people holding one of `roles` on exactly this unit."""
    query = (
        select(RoleGrant.person_id)
        .where(RoleGrant.unit_id == unit_id, RoleGrant.role.in_(list(roles)))
        .distinct()
    )
    return sorted((await session.execute(query)).scalars())


async def notify_unit(
    session: AsyncSession,
    *,
    unit_id: int,
    roles: Iterable[Role],
    render: Render,
    request_id: int | None = None,
    urgent: bool = False,
    settings: Settings | None = None,
    exclude: Iterable[int] = (),
    adapt: Adapt | None = None,
    kind: str = "",
) -> list[OutboxMessage]:
    """Write outbox rows for everyone holding one of `roles` on exactly this unit."""
    members = select(RoleGrant.person_id).where(
        RoleGrant.unit_id == unit_id, RoleGrant.role.in_(list(roles))
    )
    who: ColumnElement[bool] = ChannelIdentity.person_id.in_(members)
    if skip := sorted(set(exclude)):
        who = who & ChannelIdentity.person_id.not_in(skip)
    return await notify_where(
        session,
        who=who,
        render=render,
        request_id=request_id,
        urgent=urgent,
        settings=settings,
        kind=kind,
        adapt=adapt,
    )
