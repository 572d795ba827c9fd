"""People: address, language, phone, and erasure on request."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.org import command_menu, erasure
from bot.services.storage import attachments
from models import (
    Building,
    ChannelIdentity,
    Compound,
    Person,
    Request,
    RequestFollower,
    RoleGrant,
    UnitLiaison,
)


def mask_name(name: str) -> str:
    """Keep the first character: 张三丰 -> 张**; "-" for no name."""
    return name[:1] + "*" * (len(name) - 1) if name else "-"


async def set_address(
    session: AsyncSession, *, person: Person, compound: Compound, building: Building | None
) -> None:
    """Set the person's compound and building (the building must belong to the compound)."""
    if building is not None and building.compound_id != compound.id:
        raise ValueError("building is not in the compound")
    person.compound_id = compound.id
    person.building_id = building.id if building else None


MOBILE = re.compile(r"1[3-9]\d{9}")  # a mainland mobile number


def parse_mobile(text: str) -> str | None:
    """An 11-digit mainland mobile typed in any usual way (spaces, dashes, +86), or None."""
    digits = re.sub(r"[\s\-()（）]", "", text.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
    return digits if MOBILE.fullmatch(digits) else None


def set_phone(*, person: Person, phone: str, now: datetime) -> None:
    """Store a phone the person shared themselves, with the time of their consent."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")[:32]
    person.phone = digits or None
    person.phone_consent_at = now if digits else None


def is_registered(person: Person) -> bool:
    """True once the person has chosen where they live."""
    return person.compound_id is not None


async def count_requests(session: AsyncSession, *, person_id: int) -> int:
    """How many requests the person reported."""
    stmt = select(func.count()).select_from(Request).where(Request.reporter_id == person_id)
    return int((await session.execute(stmt)).scalar_one())


async def list_identities(session: AsyncSession, *, person_id: int) -> list[ChannelIdentity]:
    """The person's channel accounts."""
    stmt = select(ChannelIdentity).where(ChannelIdentity.person_id == person_id)
    return list((await session.execute(stmt)).scalars().all())


async def erase(session: AsyncSession, *, person: Person, now: datetime, settings: Settings) -> int:
    """Erase the person's personal data wherever it was copied (bot.services.org.erasure lists
    the places); their requests stay, anonymised, for statistics. Returns the files deleted."""
    reported = select(Request).where(Request.reporter_id == person.id)
    requests = list((await session.execute(reported)).scalars())
    words = await erasure.words_of(session, person=person, requests=requests)
    files = await erasure.drop_files(session, person=person)
    files += await erasure.drop_chats(session, person=person)
    await erasure.scrub_own(session, person=person, requests=requests)
    await erasure.scrub_copies(session, words=words, default_locale=settings.locale.default)
    await _forget(session, person=person, now=now)
    await session.flush()
    return attachments.delete_files(settings.webchat.upload_dir, set(files))


async def _forget(session: AsyncSession, *, person: Person, now: datetime) -> None:
    """Clear the person's record; their roles, follows and channel accounts go."""
    person.display_name = ""
    person.phone = None
    person.phone_consent_at = None
    person.unit_room = ""
    person.compound_id = None
    person.building_id = None
    person.language = None
    person.deleted_at = now
    # Requests keep their place (building) for statistics; the reporter link now points at an
    # empty, deleted person record, so nothing identifies them.
    await session.execute(delete(RequestFollower).where(RequestFollower.person_id == person.id))
    held = await command_menu.roles_of(session, person_ids=[person.id])
    await session.execute(delete(RoleGrant).where(RoleGrant.person_id == person.id))
    await session.execute(delete(UnitLiaison).where(UnitLiaison.person_id == person.id))
    if held[person.id]:  # their chats go back to the residents' menu, before they are unlinked
        await command_menu.queue_menus(session, person_ids=[person.id])
    await session.execute(delete(ChannelIdentity).where(ChannelIdentity.person_id == person.id))
