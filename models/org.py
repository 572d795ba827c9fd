"""The organisation tree: district > street > community > grid > building group > household,
plus the units that work beside it (steward workstations, departments, volunteer teams)."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class UnitKind(enum.StrEnum):
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"
    building_group = "building_group"
    household = "household"
    workstation = "workstation"
    department = "department"
    team = "team"


# The escalation ladder: a request climbs from the first kind towards the last.
ESCALATION_LADDER: tuple[UnitKind, ...] = (
    UnitKind.household,
    UnitKind.building_group,
    UnitKind.grid,
    UnitKind.community,
    UnitKind.street,
    UnitKind.district,
)


class OrgUnit(CreatedAtMixin, Base):
    """One unit of the tree. `path` is the materialised chain of ids ("/1/4/9/"), so a
    subtree is one indexed prefix match instead of a recursive query."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[UnitKind] = mapped_column(Enum(UnitKind, native_enum=False, length=20))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(String(400), default="/")
    contact: Mapped[str] = mapped_column(String(200), default="")
    # GeoJSON Polygon or MultiPolygon geometry, for grids located by a shared point.
    boundary: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_org_units_path", "path"),)

    def name(self, locale: str) -> str:
        """The unit's name in the given locale, falling back to Chinese."""
        return (self.name_en or self.name_zh) if locale == "en" else self.name_zh


class TeamPairing(Base):
    """A volunteer team paired with a community (结对共建)."""

    __tablename__ = "team_pairings"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True
    )
