"""Which volunteer was pushed which task, through which outbox row (to edit it to "taken")."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class TaskPush(CreatedAtMixin, Base):
    __tablename__ = "task_pushes"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("volunteer_tasks.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    outbox_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("outbox.id", ondelete="SET NULL"),
    )
    stage: Mapped[int] = mapped_column(Integer, default=0)
