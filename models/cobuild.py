"""Dual reporting (双报到) and co-building (共建): the party organisations of district organs,
enterprises and institutions (reporting units), their pairings with communities, the in-service
members who report to the community they live in, the community's needs (需求清单), the units'
projects answering them (项目清单), and the residents' grades (群众评卷)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime


class ReportingUnitKind(enum.StrEnum):
    organ = "organ"  # 机关
    enterprise = "enterprise"  # 企业
    institution = "institution"  # 事业单位


class MemberStatus(enum.StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"


class NeedStatus(enum.StrEnum):
    open = "open"
    pledged = "pledged"  # a project answers it
    done = "done"


class ProjectStatus(enum.StrEnum):
    pledged = "pledged"  # the unit offered it; the community has not confirmed yet
    in_progress = "in_progress"
    done = "done"
    declined = "declined"


class ReportingUnit(CreatedAtMixin, Base):
    """The party organisation of a district organ, enterprise or institution (单位党组织)."""

    __tablename__ = "cobuild_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[ReportingUnitKind] = mapped_column(
        Enum(ReportingUnitKind, native_enum=False, length=16)
    )
    # What the unit can bring: skills, equipment, funds ({"skills": [...], ...}).
    resources: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def name(self, locale: str) -> str:
        """The unit's name in the given locale, falling back to Chinese."""
        return (self.name_en or self.name_zh) if locale == "en" else self.name_zh


class UnitLiaison(Base):
    """A person who acts for a reporting unit (pledges, progress, completion)."""

    __tablename__ = "cobuild_liaisons"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("cobuild_units.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CobuildPairing(Base):
    """A reporting unit paired with a community (共建关系), from a date."""

    __tablename__ = "cobuild_pairings"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("cobuild_units.id", ondelete="CASCADE"), primary_key=True
    )
    community_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    since: Mapped[date] = mapped_column(Date)


class Member(CreatedAtMixin, Base):
    """An in-service party member (在职党员) reporting to the community they live in."""

    __tablename__ = "cobuild_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), unique=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("cobuild_units.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    status: Mapped[MemberStatus] = mapped_column(
        Enum(MemberStatus, native_enum=False, length=12), default=MemberStatus.pending
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class Activity(CreatedAtMixin, Base):
    """A community's call for volunteers, sent to its confirmed members."""

    __tablename__ = "cobuild_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    # When and where the members gather (asked in /callout; older calls have neither).
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(200), default="", server_default="")


class ServiceHours(Base):
    """A member's part in an activity: joined, then hours reported and confirmed (the ledger)."""

    __tablename__ = "cobuild_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("cobuild_activities.id", ondelete="CASCADE")
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("cobuild_members.id", ondelete="CASCADE"), index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    hours: Mapped[float | None] = mapped_column(Float)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)


class Need(CreatedAtMixin, Base):
    """One item of a community's list of needs (需求清单): "the community sets the exam"."""

    __tablename__ = "cobuild_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[NeedStatus] = mapped_column(
        Enum(NeedStatus, native_enum=False, length=12), default=NeedStatus.open
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class NeedRequest(Base):
    """A resident's request a need was raised from."""

    __tablename__ = "cobuild_need_requests"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("cobuild_needs.id", ondelete="CASCADE"), primary_key=True
    )
    request_id: Mapped[int] = mapped_column(
        ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class NeedSupport(CreatedAtMixin, Base):
    """A household's voice for a need (one per household)."""

    __tablename__ = "cobuild_need_supports"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("cobuild_needs.id", ondelete="CASCADE"))
    household: Mapped[str] = mapped_column(String(64))  # "<building id>:<room>"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("need_id", "household"),)


class Project(CreatedAtMixin, Base):
    """A reporting unit's answer to a need (项目清单): plan, people, dates, resources."""

    __tablename__ = "cobuild_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("cobuild_needs.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("cobuild_units.id"), index=True)
    plan: Mapped[str] = mapped_column(Text)
    people: Mapped[int] = mapped_column(Integer, default=0)
    starts_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    resources: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ProjectStatus] = mapped_column(
        Enum(ProjectStatus, native_enum=False, length=12), default=ProjectStatus.pledged
    )
    pledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completion_note: Mapped[str] = mapped_column(Text, default="")
    # Grades count once this moment has passed (群众评卷 closes).
    grading_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProjectUpdate(Base):
    """A progress report on a project, with a photo or not."""

    __tablename__ = "cobuild_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("cobuild_projects.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(300))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class ProjectGrade(CreatedAtMixin, Base):
    """A household's grade of a completed project: 1-5 and a comment (群众评卷)."""

    __tablename__ = "cobuild_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("cobuild_projects.id", ondelete="CASCADE"))
    household: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("project_id", "household"),)


class PropertyRating(CreatedAtMixin, Base):
    """A household's quarterly rating (1-5) of its compound's property service: the steward
    workstation for a compound without a property company, else the company."""

    __tablename__ = "cobuild_property_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(
        ForeignKey("compounds.id", ondelete="CASCADE"), index=True
    )
    quarter: Mapped[str] = mapped_column(String(7))  # "2026Q4", in the district's time zone
    household: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("compound_id", "quarter", "household"),)


class PropertyPoll(Base):
    """A community's quarterly property-service poll: opened once per quarter (by the sweep, or
    earlier by an admin), closed when the next quarter's opens. Ratings count while it is open."""

    __tablename__ = "cobuild_property_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("org_units.id", ondelete="CASCADE"), index=True
    )
    quarter: Mapped[str] = mapped_column(String(7))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("community_id", "quarter"),)
