"""Delivery bookkeeping: conversation state per chat, processed updates, the outbox."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, UTCDateTime, utcnow


class Conversation(Base):
    """Where one chat is in its conversation; locked for the duration of an update."""

    __tablename__ = "conversations"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(60), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # When the chat last moved (state, scratch data or person); an update that leaves it where
    # it was does not write the row.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProcessedUpdate(Base):
    """An update id already handled, recorded in the same transaction as its effects."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class OutboxStatus(enum.StrEnum):
    """Where an outbox row is: pending -> sending (claimed) -> sent | pending (retry) |
    failed | unreachable; cancelled rows (a cancelled broadcast, a volunteer task someone
    else took) never go out, nor do superseded ones (a command menu a newer menu for the same
    chat made pointless). Stored as these strings in `outbox.status`."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    unreachable = "unreachable"
    cancelled = "cancelled"
    superseded = "superseded"


class OutboxMessage(CreatedAtMixin, Base):
    """One message to deliver; written in the transaction of the change that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    # The recipient's home community, 0 for none (docs/scaling.md): one chat's rows stay on one
    # shard, so its order holds; filled on insert (models.sharding), never changed.
    community_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default=OutboxStatus.pending)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    is_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    external_message_id: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The worker holding a 'sending' row (its id in `workers`): when that worker's heartbeat
    # stops, another takes the row over without waiting for the lease to run out.
    leased_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_outbox_status_id", "status", "id"),
        # A chat's messages by id: the web chat's history, its live stream's re-reads, and
        # where an own message goes (bot.web.own).
        Index("ix_outbox_chat_id", "channel", "chat_id", "id"),
    )


class AuditLog(CreatedAtMixin, Base):
    """Every grant, revoke and admin action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
