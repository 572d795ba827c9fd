"""WeChat Official Account bookkeeping: the shared access token, each resident's
customer-service window, and the callback nonces already seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class WechatToken(Base):
    """The one access token of a service account, shared by every worker; refreshed by one
    worker at a time, holding this row's lock."""

    __tablename__ = "wechat_tokens"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str] = mapped_column(String(600), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WechatWindow(Base):
    """A resident's customer-service window: open until `open_until` (48 hours after their
    last message), with `quota_left` messages still allowed in it."""

    __tablename__ = "wechat_windows"

    openid: Mapped[str] = mapped_column(String(100), primary_key=True)
    open_until: Mapped[datetime] = mapped_column(UTCDateTime())
    quota_left: Mapped[int] = mapped_column(Integer, default=0)


class WechatNonce(Base):
    """A callback's timestamp and nonce, with a digest of its body: the same pair again with
    another body is a replay and is refused. Rows older than the allowed clock skew go."""

    __tablename__ = "wechat_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[str] = mapped_column(String(20), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
