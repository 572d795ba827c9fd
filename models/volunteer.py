"""Red-wrench volunteers: profiles, tasks and service records."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime


class TaskStatus(enum.StrEnum):
    """A volunteer task's status, stored as these strings in `volunteer_tasks.status`."""

    open = "open"
    claimed = "claimed"
    on_way = "on_way"
    done = "done"


# A volunteer holds the task; the task is not done yet.
HELD_TASK_STATUSES = (TaskStatus.claimed, TaskStatus.on_way)
ACTIVE_TASK_STATUSES = (TaskStatus.open, *HELD_TASK_STATUSES)


class VolunteerProfile(CreatedAtMixin, Base):
    __tablename__ = "volunteer_profiles"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_leader: Mapped[bool] = mapped_column(default=False)


class VolunteerTask(CreatedAtMixin, Base):
    __tablename__ = "volunteer_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    skill: Mapped[str | None] = mapped_column(String(40))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.open, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Claim and push bookkeeping (bot/services/volunteers/tasks.py): who created it, which
    # push round it is in (0 paired teams, 1 widened to other teams, 2 the owner unit was
    # told) and when that round went out, so the widening sweep is one indexed range scan.
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    stage: Mapped[int] = mapped_column(Integer, default=0)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    on_way_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hours: Mapped[float | None] = mapped_column(Float)
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_volunteer_tasks_status_pushed", "status", "pushed_at"),)


class ServiceRecord(CreatedAtMixin, Base):
    __tablename__ = "service_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer_tasks.id"))
    hours: Mapped[float] = mapped_column(Float, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
