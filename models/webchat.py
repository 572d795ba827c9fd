"""The web chat's record of what a person sent: their own messages, shown in every tab and
device of the same identity, in order with the bot's (the outbox holds the bot's)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin

_ID = BigInteger().with_variant(Integer, "sqlite")


class WebOwnMessage(CreatedAtMixin, Base):
    """One message a person sent in a web chat: text or a command as typed, a pressed chip's
    label, a shared location, or an uploaded photo the conversation kept.

    `after_id` is the newest outbox row of the chat when it was sent: it goes after that row
    and before the replies to it. `key` is the page's idempotency key, so the page that sent
    it recognises its own message when the event stream brings it back."""

    __tablename__ = "web_own_messages"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(64))
    pressed_id: Mapped[int | None] = mapped_column(_ID)
    after_id: Mapped[int] = mapped_column(_ID, default=0)

    __table_args__ = (
        UniqueConstraint("channel", "chat_id", "key"),
        Index("ix_web_own_messages_chat_id", "channel", "chat_id", "id"),
    )
