"""Requests, their categories, photos, followers, history and evaluations."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime, utcnow


class RequestStatus(enum.StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    in_progress = "in_progress"
    waiting_for_resident = "waiting_for_resident"
    resolved = "resolved"
    closed = "closed"
    returned = "returned"
    transferred = "transferred"
    merged = "merged"
    rejected = "rejected"
    reopened = "reopened"
    escalated = "escalated"
    withdrawn = "withdrawn"


OPEN_STATUSES: frozenset[RequestStatus] = frozenset(
    {
        RequestStatus.submitted,
        RequestStatus.accepted,
        RequestStatus.in_progress,
        RequestStatus.waiting_for_resident,
        RequestStatus.returned,
        RequestStatus.transferred,
        RequestStatus.reopened,
        RequestStatus.escalated,
    }
)


class Priority(enum.StrEnum):
    ordinary = "ordinary"
    urgent = "urgent"
    emergency = "emergency"


class Visibility(enum.StrEnum):
    public = "public"
    internal = "internal"


# The statuses whose deadline clocks run (bot.services.cases.transitions.MOVABLE), as SQL.
_RUNNING = ", ".join(
    f"'{status}'"
    for status in (
        "submitted",
        "accepted",
        "in_progress",
        "returned",
        "transferred",
        "reopened",
        "escalated",
    )
)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    sla_hours: Mapped[int] = mapped_column(Integer, default=168)
    skill: Mapped[str | None] = mapped_column(String(40))
    owner_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    maintenance: Mapped[bool] = mapped_column(Boolean, default=False)
    asks_location: Mapped[bool] = mapped_column(Boolean, default=False)
    department_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def name(self, locale: str) -> str:
        """The category's name in the given locale."""
        return self.name_en if locale == "en" else self.name_zh


class Request(CreatedAtMixin, Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address_text: Mapped[str] = mapped_column(String(300), default="")
    place_scope: Mapped[str] = mapped_column(String(20), default="")  # common_area | own_flat
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # The distribution column past one PostgreSQL (docs/scaling.md): the community of the
    # place, 0 for none; filled on insert (models.sharding), never changed.
    community_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[RequestStatus] = mapped_column(
        Enum(RequestStatus, native_enum=False, length=24), default=RequestStatus.submitted
    )
    priority: Mapped[Priority] = mapped_column(
        Enum(Priority, native_enum=False, length=12), default=Priority.ordinary
    )
    urgent_reason: Mapped[str] = mapped_column(String(300), default="")
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contact_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolve_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_requests_owner_status", "owner_unit_id", "status"),
        Index("ix_requests_reporter", "reporter_id"),
        Index("ix_requests_category_building", "category_id", "building_id", "created_at"),
        Index("ix_requests_status_resolve_by", "status", "resolve_by"),
        # Statistics per unit and period (bot/services/stats.py).
        Index("ix_requests_owner_created", "owner_unit_id", "created_at"),
        # The deadline and reminder sweeps (bot/services/escalation.py, reminders.py): only
        # requests whose clocks run and whose deadline is not met, so a range scan finds the
        # due ones among a million without touching closed requests.
        *(
            Index(
                f"ix_requests_open_{due}",
                due,
                postgresql_where=text(f"{met} IS NULL AND status IN ({_RUNNING})"),
                sqlite_where=text(f"{met} IS NULL AND status IN ({_RUNNING})"),
            )
            for due, met in (
                ("accept_by", "accepted_at"),
                ("contact_by", "contacted_at"),
                ("resolve_by", "resolved_at"),
            )
        ),
    )


class RequestPhoto(CreatedAtMixin, Base):
    """A photo or voice note attached to a request; only the channel's file id is kept."""

    __tablename__ = "request_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    # Indexed: an upload is kept while a request photo names it (bot.services.storage.attachments).
    file_id: Mapped[str] = mapped_column(String(300), index=True)
    file_size: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default="photo")  # photo | voice
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class RequestFollower(CreatedAtMixin, Base):
    """A resident who said "me too" on someone else's request."""

    __tablename__ = "request_followers"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EventKind(enum.StrEnum):
    """What a line in a request's history records, besides the state machine's actions: an
    event's `kind` is an `Action` value (bot.services.cases.transitions: accept, escalate,
    note...) or one of these. Stored as these strings in `request_events.kind`."""

    submitted = "submitted"
    routed = "routed"
    reminder = "reminder"
    whistle = "whistle"
    whistle_acknowledged = "whistle_acknowledged"
    whistle_on_site = "whistle_on_site"
    whistle_done = "whistle_done"
    whistle_escalated = "whistle_escalated"
    volunteer_task = "volunteer_task"
    volunteer_claimed = "volunteer_claimed"
    volunteer_done = "volunteer_done"
    volunteer_released = "volunteer_released"
    meeting_convened = "meeting_convened"
    meeting_outcome = "meeting_outcome"
    meeting_cancelled = "meeting_cancelled"


class RequestEvent(Base):
    """Append-only history of a request."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    # Its request's community (docs/scaling.md): co-located with it.
    community_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))  # an Action value or an EventKind
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, native_enum=False, length=10), default=Visibility.public
    )
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # What a person reads is rendered from codes and ids in their language when they read it:
    # a routed event keeps its rule and steps here (bot.services.dispatch.explain).
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Evaluation(CreatedAtMixin, Base):
    """The resident's judgement of a resolved request (回访/评价)."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    round: Mapped[int] = mapped_column(Integer, default=1)
    solved: Mapped[str] = mapped_column(String(12))  # solved | partly | not_solved | none
    satisfaction: Mapped[str] = mapped_column(String(16))  # satisfied | basic | unsatisfied | none
    comment: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("request_id", "round"),)


class CategoryCorrection(CreatedAtMixin, Base):
    """A staff correction of a request's category, kept to retrain the classifier."""

    __tablename__ = "category_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    suggested: Mapped[str | None] = mapped_column(String(40))
    corrected: Mapped[str] = mapped_column(String(40))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class Counter(Base):
    """Named counters; on SQLite the request reference sequence lives here."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
