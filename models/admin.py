"""What admins create besides grants: invite links and broadcasts (with their outbox rows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime
from models.person import Role


class Invite(CreatedAtMixin, Base):
    """A single-use, expiring deep link (`/start inv_<token>`) that grants a role on a unit.

    Only the SHA-256 of the token is stored: a copy of the database cannot be used to join.
    """

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=24))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    leader: Mapped[bool] = mapped_column(Boolean, default=False)
    # A reporting unit's liaison (role unit_liaison): the unit they will act for; `unit_id` is
    # then the paired community whose admin made the invite.
    cobuild_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("cobuild_units.id", ondelete="CASCADE")
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    # Made on the command line (`redgrid invite create`) by whoever runs the server: how the
    # first admin is made. Any other invite is only as good as its creator's rights.
    by_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))


class Broadcast(CreatedAtMixin, Base):
    """A message an admin sends to the residents of a building, compound, grid, community or
    street: draft > sending > done | cancelled."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    target_kind: Mapped[str] = mapped_column(String(20))  # building | compound | <unit kind>
    target_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BroadcastMessage(Base):
    """One outbox row of a broadcast, so progress and cancelling are one indexed join."""

    __tablename__ = "broadcast_messages"

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    outbox_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("outbox.id", ondelete="CASCADE"),
        primary_key=True,
    )
