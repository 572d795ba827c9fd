"""Bookkeeping of scheduled pushes: which (job, subject, period) has already been handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime


class ScheduleMark(CreatedAtMixin, Base):
    """A scheduled push made once: a reminder for one deadline of a request, a day's digest
    for one person or unit, a week's report. The unique key is the claim: a re-run or another
    worker inserting the same mark gets a conflict and skips the push."""

    __tablename__ = "schedule_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(40))
    # For a deadline reminder: the deadline itself, so the sweep can skip reminded ones in SQL.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("job", "subject_id", "period"),)
