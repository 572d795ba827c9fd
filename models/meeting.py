"""Doorstep meetings (红马扎) and polls: who is invited, who answers, how households vote.

A household is (building_id, unit_room). Residents of one flat share one voice: every vote
is kept (the organiser sees who answered for each household) and the latest one counts.
A poll without a meeting is a `Meeting` of kind "poll" (no place, no time).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime, utcnow


class MeetingKind(enum.StrEnum):
    meeting = "meeting"
    poll = "poll"  # asking for views without a meeting


class MeetingStatus(enum.StrEnum):
    scheduled = "scheduled"
    held = "held"  # the outcome is recorded
    cancelled = "cancelled"


class ScopeKind(enum.StrEnum):
    building = "building"
    units = "units"  # some units (单元) of one building
    compound = "compound"


class Rsvp(enum.StrEnum):
    pending = "pending"
    coming = "coming"
    not_coming = "not_coming"
    view = "view"  # cannot come, sent a view instead


class PollRule(enum.StrEnum):
    majority = "majority"  # more than half of the participating households
    common = "common"  # Civil Code art. 278, ordinary matters of common property
    common_major = "common_major"  # art. 278 (6)-(8): funds, rebuilding, change of use


class PollStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    closed = "closed"


class Meeting(CreatedAtMixin, Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(
        Enum(MeetingKind, native_enum=False, length=10), default=MeetingKind.meeting
    )
    status: Mapped[MeetingStatus] = mapped_column(
        Enum(MeetingStatus, native_enum=False, length=12), default=MeetingStatus.scheduled
    )
    topic: Mapped[str] = mapped_column(String(300))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("requests.id", ondelete="SET NULL"), index=True
    )
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    # The grid (or higher unit) whose staff run the meeting: rights are checked against it.
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    scope_kind: Mapped[ScopeKind] = mapped_column(Enum(ScopeKind, native_enum=False, length=10))
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    units: Mapped[list[str]] = mapped_column(JSON, default=list)  # unit numbers, scope "units"
    # Households of the scope by the place data (registered or not): the quorum's denominator.
    expected_households: Mapped[int] = mapped_column(Integer, default=0)
    place: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    minutes: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")  # who does what by when
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Each reminder is claimed by setting its mark, so it goes out exactly once.
    reminded_day_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_hour_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_meetings_status_starts_at", "status", "starts_at"),)


class MeetingInvitation(Base):
    """One invited resident, with the household they belong to and their answer."""

    __tablename__ = "meeting_invitations"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    unit_room: Mapped[str] = mapped_column(String(40), default="")
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    response: Mapped[Rsvp] = mapped_column(
        Enum(Rsvp, native_enum=False, length=12), default=Rsvp.pending
    )
    view_text: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Poll(CreatedAtMixin, Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(300))
    rule: Mapped[PollRule] = mapped_column(
        Enum(PollRule, native_enum=False, length=14), default=PollRule.majority
    )
    status: Mapped[PollStatus] = mapped_column(
        Enum(PollStatus, native_enum=False, length=8), default=PollStatus.draft
    )
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The result as computed at the close (bot.services.meetings.poll_rules.Result.as_dict).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_polls_status_closes_at", "status", "closes_at"),)


class PollOption(Base):
    __tablename__ = "poll_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))


class PollVote(Base):
    """One person's vote; a household's latest vote is the one that counts."""

    __tablename__ = "poll_votes"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(ForeignKey("poll_options.id", ondelete="CASCADE"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    unit_room: Mapped[str] = mapped_column(String(40), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    serial: Mapped[int] = mapped_column(Integer, default=0)  # orders votes cast at one instant


class Flat(Base):
    """Per-flat data where a compound has it: the floor area weighs a household's vote."""

    __tablename__ = "flats"

    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True
    )
    unit_room: Mapped[str] = mapped_column(String(40), primary_key=True)
    floor_area: Mapped[float | None] = mapped_column(Float)  # square metres
