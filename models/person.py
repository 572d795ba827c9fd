"""People, the channels they talk to us on, and the roles they hold."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime

# The channel the demo district's people talk on (`Person.is_demo`); the web chat serves it.
DEMO_CHANNEL = "demo"


class Role(enum.StrEnum):
    resident = "resident"
    grid_staff = "grid_staff"
    volunteer = "volunteer"
    steward = "steward"
    department_liaison = "department_liaison"
    admin = "admin"
    # Acts for a reporting unit in dual reporting (models.cobuild.UnitLiaison, not a grant):
    # only invites carry it.
    unit_liaison = "unit_liaison"


class Person(CreatedAtMixin, Base):
    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    phone_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    unit_room: Mapped[str] = mapped_column(String(40), default="")
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # One of the demo district's people (the org file says `demo: true`): acted as by visitors
    # in demo mode, so nothing they do may reach anyone who is not a demo person.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Web chat sessions carry the epoch they were issued in; raising it ends them all.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ChannelIdentity(CreatedAtMixin, Base):
    """One account of a person on one channel (a Telegram user, a web chat session...)."""

    __tablename__ = "channel_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    chat_id: Mapped[str] = mapped_column(String(100))
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("channel", "external_id"),)


class RoleGrant(CreatedAtMixin, Base):
    """A role held over an org unit and its whole subtree."""

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=24))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))

    __table_args__ = (UniqueConstraint("person_id", "role", "unit_id"),)
