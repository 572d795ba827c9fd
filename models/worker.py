"""Several workers on one database: who is alive (a heartbeat row each) and who holds what
only one of them may do at a time (a lease per job: a sweep, Telegram polling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, JSON, BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Worker(Base):
    """A running process, alive while `heartbeat_at` is recent (bot.workers); dead at once
    for a worker of the same `pid_space` (machine boot and pid namespace) that finds no
    process `pid` started at `pid_started` (clock ticks since boot)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    host: Mapped[str | None] = mapped_column(String(100))
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_space: Mapped[str | None] = mapped_column(String(120))
    pid_started: Mapped[int | None] = mapped_column(BigInteger)


class Lease(Base):
    """A job only one worker may do at a time, held by `holder` while its heartbeat lasts."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SendMark(Base):
    """When a chat was last sent a message by any worker (bot.outbox.shared): the per-chat
    pace held across workers; for a chat with windows of its own (a WeCom member's 25 a
    minute), the times (epoch seconds, oldest first) of its messages still inside the longest
    one, a time per message. An array on PostgreSQL, the only database that uses it."""

    __tablename__ = "send_marks"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recent: Mapped[list[float] | None] = mapped_column(
        ARRAY(Float()).with_variant(JSON(), "sqlite")
    )


class FloodWindow(Base):
    """A person's flood limit across workers (bot.core.flood): the times (epoch seconds) of
    the last `limit` updates handled or booked, and when they were last asked to slow down.
    An array on PostgreSQL, the only database that uses it (SQLite has one process)."""

    __tablename__ = "flood_windows"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    slots: Mapped[list[float]] = mapped_column(
        ARRAY(Float()).with_variant(JSON(), "sqlite"), default=list
    )
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
