"""Places residents live in: compounds (小区) and buildings (楼)."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class Compound(CreatedAtMixin, Base):
    __tablename__ = "compounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    community_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    households: Mapped[int] = mapped_column(Integer, default=0)
    built_year: Mapped[int | None] = mapped_column(Integer)
    no_property_management: Mapped[bool] = mapped_column(Boolean, default=False)
    workstation_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)

    def name(self, locale: str) -> str:
        """The compound's name in the given locale, falling back to Chinese."""
        return (self.name_en or self.name_zh) if locale == "en" else self.name_zh


class Building(CreatedAtMixin, Base):
    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(40))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    units: Mapped[int] = mapped_column(Integer, default=1)
    floors: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("compound_id", "number"),)
