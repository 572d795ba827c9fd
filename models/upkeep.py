"""Recurring upkeep of compounds looked after by a steward workstation (红管家): which checks
each compound gets, and which period's request each check already produced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime, utcnow


class UpkeepPlan(CreatedAtMixin, Base):
    """A compound's own setting for one upkeep check, replacing the default of that kind
    (bot.services.dispatch.upkeep.DEFAULT_PLANS); `active` False switches the check off."""

    __tablename__ = "upkeep_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(
        ForeignKey("compounds.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))  # lights | rain_pipes | ...
    category_slug: Mapped[str] = mapped_column(String(40))
    every: Mapped[str] = mapped_column(String(10))  # week | month
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("compound_id", "kind"),)


class UpkeepRun(Base):
    """One check of one compound for one period ("2026-W48", "2026-11"): the unique key makes
    creating the period's request idempotent, even when two workers sweep at once."""

    __tablename__ = "upkeep_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(10))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("compound_id", "kind", "period"),)
