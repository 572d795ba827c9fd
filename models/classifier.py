"""The category classifier's retraining runs: what each measured, and whether it was adopted."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class ClassifierRun(CreatedAtMixin, Base):
    """One retraining on the shipped examples plus staff corrections (`CategoryCorrection`).

    Both figures are cross-validated top-1 accuracies on the same held-out examples: the
    model in use before, and the candidate with every correction up to `corrections_upto`.
    The model itself is not stored: it is rebuilt from the shipped set and the corrections up
    to `corrections_upto` of the newest adopted run (deterministic, under a second), so a
    restart, and every worker, runs the same model."""

    __tablename__ = "classifier_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    corrections_upto: Mapped[int] = mapped_column(Integer, default=0)  # a correction id; 0: none
    corrections: Mapped[int] = mapped_column(Integer, default=0)
    examples: Mapped[int] = mapped_column(Integer, default=0)
    accuracy_before: Mapped[float] = mapped_column(Float)
    accuracy_after: Mapped[float] = mapped_column(Float)
    adopted: Mapped[bool] = mapped_column(Boolean, default=False)
