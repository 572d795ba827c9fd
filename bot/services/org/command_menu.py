"""Command menus that follow roles: when a person's roles change, their own chats on channels
with a command menu get the new one, as an outbox row written in the same transaction (so it
survives a crash and is retried like any push). The channel turns the row into its menu calls
(Telegram: setMyCommands / deleteMyCommands for that chat). Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import DEFAULT_LOCALE, pick_locale
from bot.messages import CommandMenu, Outgoing
from bot.outbox import store
from models import ChannelIdentity, OutboxMessage, Person, Role, RoleGrant, UnitLiaison

# Channels whose clients show a per-chat command menu. Elsewhere (the web chat, where the
# outbox row is the message itself) no menu row is written at all.
MENU_CHANNELS: frozenset[str] = frozenset({"telegram"})


@dataclass(frozen=True, slots=True)
class MenuTarget:
    """One chat and the menu it should show."""

    channel: str
    chat_id: str
    person_id: int
    menu: CommandMenu


async def roles_of(session: AsyncSession, *, person_ids: Iterable[int]) -> dict[int, set[str]]:
    """The roles with commands of their own (not 'resident') each person holds, by person."""
    ids = sorted(set(person_ids))
    held: dict[int, set[str]] = {person_id: set() for person_id in ids}
    if not ids:
        return held
    query = select(RoleGrant.person_id, RoleGrant.role).where(
        RoleGrant.person_id.in_(ids), RoleGrant.role != Role.resident
    )
    for person_id, role in await session.execute(query):
        held[person_id].add(str(role))
    # Acting for a reporting unit (dual reporting) is a row of its own, not a grant.
    liaisons = select(UnitLiaison.person_id).where(UnitLiaison.person_id.in_(ids))
    for person_id in (await session.execute(liaisons)).scalars():
        held[person_id].add(Role.unit_liaison.value)
    return held


async def staff_ids(session: AsyncSession) -> list[int]:
    """Everyone holding a role other than resident, or acting for a reporting unit."""
    query = select(RoleGrant.person_id).where(RoleGrant.role != Role.resident).distinct()
    liaisons = select(UnitLiaison.person_id).distinct()
    found = set((await session.execute(query)).scalars())
    return sorted(found | set((await session.execute(liaisons)).scalars()))


async def menu_targets(
    session: AsyncSession,
    *,
    person_ids: Iterable[int],
    default_locale: str = DEFAULT_LOCALE,
    staff_only: bool = False,
    channels: Iterable[str] = MENU_CHANNELS,
) -> list[MenuTarget]:
    """The menus the people's own reachable chats should show now (with `staff_only`, only
    for people holding a role). A chat is a person's own when its id is their account id: a
    menu set on a group would show to everyone in it."""
    held = await roles_of(session, person_ids=person_ids)
    if staff_only:
        held = {person_id: roles for person_id, roles in held.items() if roles}
    if not held:
        return []
    query = (
        select(ChannelIdentity.channel, ChannelIdentity.chat_id, Person.id, Person.language)
        .join(Person, Person.id == ChannelIdentity.person_id)
        .where(
            ChannelIdentity.person_id.in_(list(held)),
            ChannelIdentity.channel.in_(list(channels)),
            ChannelIdentity.chat_id == ChannelIdentity.external_id,
            ChannelIdentity.unreachable_at.is_(None),
        )
        .order_by(ChannelIdentity.id)
    )
    return [
        MenuTarget(
            channel,
            chat_id,
            person_id,
            CommandMenu(
                tuple(sorted(held[person_id])), pick_locale(language, None, default_locale)
            ),
        )
        for channel, chat_id, person_id, language in await session.execute(query)
    ]


async def _write(session: AsyncSession, targets: list[MenuTarget]) -> list[OutboxMessage]:
    """One menu row per target; a chat's menu rows still waiting are superseded by it.
    Urgent: a menu pings nobody, so quiet hours need not hold it."""
    rows = [
        await store.enqueue(
            session,
            channel=target.channel,
            chat_id=target.chat_id,
            message=Outgoing(menu=target.menu),
            person_id=target.person_id,
            urgent=True,
            flush=False,
        )
        for target in targets
    ]
    await session.flush()
    for channel in sorted({target.channel for target in targets}):
        chats = [target.chat_id for target in targets if target.channel == channel]
        await store.supersede_menus(session, channel=channel, chats=chats)
    return rows


async def queue_menus(
    session: AsyncSession,
    *,
    person_ids: Iterable[int],
    settings: Settings | None = None,
    staff_only: bool = False,
) -> list[OutboxMessage]:
    """Write one menu row per own chat of each person, in the caller's transaction. Call it
    after their roles (or language) changed; it replaces any menu row still waiting for the
    same chat, so a chat gets one menu call however many changes came first."""
    default = settings.locale.default if settings is not None else DEFAULT_LOCALE
    targets = await menu_targets(
        session, person_ids=person_ids, default_locale=default, staff_only=staff_only
    )
    return await _write(session, targets)


async def catch_up(
    session: AsyncSession, *, channels: Iterable[str] = MENU_CHANNELS, settings: Settings
) -> int:
    """At start: every staff chat's menu once more (mending any drift), replacing whatever
    menu rows were still waiting; other chats keep only their newest waiting one. The paced
    sender delivers them beside the replies, never ahead of one (bot.outbox.sender). Returns
    how many people hold a role."""
    people = await staff_ids(session)
    targets = await menu_targets(
        session,
        person_ids=people,
        default_locale=settings.locale.default,
        staff_only=True,
        channels=channels,
    )
    await _write(session, targets)
    for channel in sorted(set(channels)):
        await store.supersede_menus(session, channel=channel)
    return len(people)
