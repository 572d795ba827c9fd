"""WeCom (企业微信) bookkeeping: each interactive card sent to a member, with the code that
may update it in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class WecomCard(Base):
    """A template card sent to one member: `task_id` (ours, unique in the app) is the message
    id the outbox keeps; `response_code` (WeCom's, from the send or from the member's latest
    click, one use within 72 hours) lets `update_template_card` change it in place."""

    __tablename__ = "wecom_cards"

    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    userid: Mapped[str] = mapped_column(String(100))
    response_code: Mapped[str | None] = mapped_column(String(300))
    code_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
