"""The red whistle (红响哨): a unit summons departments on a request; each department's
liaisons must acknowledge before a deadline, then report on site and done."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime


class SummonsStatus(enum.StrEnum):
    summoned = "summoned"
    acknowledged = "acknowledged"
    on_site = "on_site"
    done = "done"


class Whistle(CreatedAtMixin, Base):
    """One blow of the whistle on a request by a unit (usually its owner grid)."""

    __tablename__ = "whistles"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    blown_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")


class WhistleSummons(Base):
    """One department summoned by a whistle, and how far it has answered."""

    __tablename__ = "whistle_summons"

    id: Mapped[int] = mapped_column(primary_key=True)
    whistle_id: Mapped[int] = mapped_column(
        ForeignKey("whistles.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=SummonsStatus.summoned.value)
    # The sweep finds unacknowledged summons past this time and escalates each once.
    ack_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL")
    )
    on_site_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("whistle_id", "department_id"),)
