"""Several workers on one database: who is alive (a heartbeat row each) and who holds what
only one of them may do at a time (a lease per job: a sweep, Telegram polling)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Worker(Base):
    """A running process, alive while `heartbeat_at` is recent (bot.workers)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Lease(Base):
    """A job only one worker may do at a time, held by `holder` while its heartbeat lasts."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
