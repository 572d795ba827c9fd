"""The classifier learns from staff category corrections, weekly and by hand.

A retraining measures two training sets by k-fold cross-validation on the same held-out
examples (the shipped set plus every correction): the one in use (the shipped set plus the
corrections the last adopted run took) and the candidate (the shipped set plus every
correction). The candidate is adopted, and swapped in, only if its top-1 accuracy does not
drop; both figures are logged and kept as a `ClassifierRun`.

Where the model lives: it is not stored, its recipe is. The newest adopted run names the last
correction it took (`corrections_upto`), and `load` rebuilds that model from the shipped set
and those corrections at start (deterministic, under a second). So a restart keeps what was
learnt, and every worker runs the same model: the worker that claims the week's run retrains;
the others adopt the newest adopted run when their own weekly sweep comes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.cases import classify
from bot.services.dispatch import reminders
from bot.sweeps import sweep
from models import CategoryCorrection, ClassifierRun

log = logging.getLogger(__name__)

FOLDS = 5
JOB = "classify.retrain"  # the weekly run's ScheduleMark

Example = tuple[str, str]  # (category, text)


@dataclass(frozen=True, slots=True)
class Recipe:
    """What models are trained on besides the shipped set, read from the database."""

    adopted: list[Example]  # the corrections the newest adopted run took
    run_id: int | None  # that run (None: none adopted yet)
    newest: list[Example]  # every correction, up to `upto`
    upto: int  # the newest correction's id (0: none)
    keywords: dict[str, list[str]]


_loaded: int | None = None  # the adopted run this process's model was built from


async def read_recipe(session: AsyncSession) -> Recipe:
    """The newest adopted run's corrections, every correction and the categories' keywords."""
    newest = await session.execute(
        select(ClassifierRun.id, ClassifierRun.corrections_upto)
        .where(ClassifierRun.adopted.is_(True))
        .order_by(ClassifierRun.id.desc())
        .limit(1)
    )
    run_id, adopted_upto = newest.one_or_none() or (None, 0)
    upto = await session.scalar(select(func.max(CategoryCorrection.id))) or 0
    return Recipe(
        adopted=await classify.corrections_as_examples(session, upto=adopted_upto),
        run_id=run_id,
        newest=await classify.corrections_as_examples(session, upto=upto),
        upto=upto,
        keywords=await classify.keywords_from_database(session),
    )


def cross_validate(
    shipped: Sequence[Example],
    before: Sequence[Example],
    after: Sequence[Example],
    *,
    keywords: dict[str, list[str]],
    folds: int = FOLDS,
) -> tuple[float, float]:
    """Top-1 accuracy of training on `shipped + before` and on `shipped + after` (`before`
    a prefix of `after`), each fold held out of both and scored on all of its examples."""
    everything = [*shipped, *after]
    in_before = len(shipped) + len(before)
    found = [classify.features(text) for _, text in everything]
    right = [0, 0]
    for fold in range(folds):
        held = range(fold, len(everything), folds)
        trained = [
            classify.fit([(everything[i][0], found[i]) for i in chosen], keywords=keywords)
            for chosen in (
                [i for i in range(in_before) if i % folds != fold],
                [i for i in range(len(everything)) if i % folds != fold],
            )
        ]
        for which, model in enumerate(trained):
            right[which] += sum(model.best_of(found[i]) == everything[i][0] for i in held)
    total = len(everything) or 1
    return right[0] / total, right[1] / total


@dataclass(frozen=True, slots=True)
class Outcome:
    before: float
    after: float
    adopted: bool
    corrections: int
    examples: int


async def retrain(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> Outcome:
    """Cross-validate the corrections, swap the model if top-1 does not drop, record the run.
    Reading and recording are short units of work; the training holds no transaction."""
    global _loaded
    async with sessions() as session:
        recipe = await read_recipe(session)
    shipped, extra = classify.load_examples(), recipe.newest
    before, after = await asyncio.to_thread(
        cross_validate, shipped, recipe.adopted, extra, keywords=recipe.keywords, folds=FOLDS
    )
    adopted = after >= before
    if adopted:
        await asyncio.to_thread(classify.retrain, extra, keywords=recipe.keywords)
    async with sessions() as session, session.begin():
        run = ClassifierRun(
            corrections_upto=recipe.upto,
            corrections=len(extra),
            examples=len(shipped) + len(extra),
            accuracy_before=before,
            accuracy_after=after,
            adopted=adopted,
            created_at=now,
        )
        session.add(run)
        await session.flush()
        if adopted:
            _loaded = run.id
    log.info(
        "classifier retrained on %d examples (%d corrections): top-1 %.4f before, %.4f after; %s",
        len(shipped) + len(extra),
        len(extra),
        before,
        after,
        "swapped" if adopted else "kept the model in use",
    )
    return Outcome(before, after, adopted, len(extra), len(shipped) + len(extra))


async def load(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Build the newest adopted run's model (or the shipped one); False if already loaded.
    A database that cannot be read now leaves the model in use (or the shipped one)."""
    global _loaded
    try:
        async with sessions() as session:
            recipe = await read_recipe(session)
    except SQLAlchemyError:
        log.warning("classifier: corrections unreadable, the model in use stays", exc_info=True)
        await asyncio.to_thread(classify.warm_up)
        return False
    if recipe.run_id is None:
        await asyncio.to_thread(classify.warm_up)
        return False
    if recipe.run_id == _loaded:
        return False
    await asyncio.to_thread(classify.retrain, recipe.adopted, keywords=recipe.keywords)
    _loaded = recipe.run_id
    return True


@sweep(
    "retrain_classifier",
    description="the classifier learns from staff category corrections",
    own_sessions=True,
)
async def retrain_weekly(
    sessions: async_sessionmaker[AsyncSession], *, now: datetime, settings: Settings
) -> int:
    """One worker a week retrains (1); the others adopt the newest adopted model (0)."""
    year, week, _ = now.astimezone(settings.tz).isocalendar()
    period = f"{year}-W{week:02d}"
    async with sessions() as session, session.begin():
        mine = await reminders.claim(session, job=JOB, subject_id=0, period=period, now=now)
    if not mine:
        await load(sessions)
        return 0
    await retrain(sessions, now=now)
    return 1
