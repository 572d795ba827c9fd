"""Who a doorstep meeting (红马扎) is for: its scope (one building, some of its units, or a
whole compound), the households and residents in it, and who was invited.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.exceptions import NotFound
from bot.services.meetings.poll_rules import Household
from models import (
    Building,
    Compound,
    Meeting,
    MeetingInvitation,
    Person,
    ScopeKind,
)

_UNIT = re.compile(r"^\s*(\d+)\s*(?:-|单元|/)")


def unit_of(unit_room: str) -> str:
    """The unit (单元) number of a "2-301" style address, or "" when it has none."""
    match = _UNIT.match(unit_room or "")
    return match.group(1) if match else ""


def household_of(person: Person) -> Household:
    """A person's household; without a room a person is a household of their own."""
    room = (person.unit_room or "").strip()
    return (person.building_id, room or f"#{person.id}")


def in_scope(meeting: Meeting, person: Person) -> bool:
    """True when the person lives in the meeting's scope (and is not erased)."""
    if person.deleted_at is not None:
        return False
    if meeting.scope_kind == ScopeKind.compound:
        return person.compound_id == meeting.compound_id
    if person.building_id is None or person.building_id != meeting.building_id:
        return False
    return meeting.scope_kind == ScopeKind.building or unit_of(person.unit_room) in meeting.units


@dataclass(frozen=True, slots=True)
class Scope:
    """Who a meeting is for: one building, some of its units, or a whole compound."""

    kind: ScopeKind
    compound: Compound
    buildings: list[Building]
    units: list[str] = field(default_factory=list)

    def expected_households(self) -> int:
        """Households by the place data (registered or not)."""
        if self.kind == ScopeKind.units and self.buildings:
            building = self.buildings[0]
            per_unit = building.households / max(building.units, 1)
            return round(per_unit * len(self.units))
        total = sum(b.households for b in self.buildings)
        return total or (self.compound.households if self.kind == ScopeKind.compound else 0)


async def load_scope(
    session: AsyncSession,
    *,
    kind: ScopeKind,
    compound_id: int | None = None,
    building_id: int | None = None,
    units: Sequence[str] = (),
) -> Scope:
    """The scope named by ids, checked for consistency (NotFound otherwise)."""
    building = await session.get(Building, building_id) if building_id else None
    if kind != ScopeKind.compound:
        if building is None:
            raise NotFound("meeting.not_found")
        compound_id = building.compound_id
    compound = await session.get(Compound, compound_id) if compound_id else None
    if compound is None:
        raise NotFound("meeting.not_found")
    if kind == ScopeKind.compound:
        stmt = select(Building).where(Building.compound_id == compound.id).order_by(Building.id)
        buildings = list((await session.execute(stmt)).scalars())
        return Scope(kind, compound, buildings)
    assert building is not None
    chosen = sorted({u for u in units if u.isdigit()}, key=int) if kind == ScopeKind.units else []
    if kind == ScopeKind.units and not chosen:
        raise NotFound("meeting.not_found")
    return Scope(kind, compound, [building], chosen)


async def scope_residents(session: AsyncSession, *, meeting: Meeting) -> list[Person]:
    """Registered residents living in the meeting's scope, by id."""
    stmt = select(Person).where(Person.deleted_at.is_(None))
    if meeting.scope_kind == ScopeKind.compound:
        stmt = stmt.where(Person.compound_id == meeting.compound_id)
    else:
        stmt = stmt.where(Person.building_id == meeting.building_id)
    people = (await session.execute(stmt.order_by(Person.id))).scalars()
    return [p for p in people if in_scope(meeting, p)]


async def invitee_ids(session: AsyncSession, *, meeting: Meeting) -> list[int]:
    """Ids of the invited residents."""
    stmt = select(MeetingInvitation.person_id).where(MeetingInvitation.meeting_id == meeting.id)
    return sorted((await session.execute(stmt)).scalars())
