"""The classifier learns from staff corrections: swapped only when top-1 does not drop,
kept across a restart, weekly through the scheduler and by hand from the CLI."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import scheduler
from bot.cli import app
from bot.db import create_engine, session_factory
from bot.services.cases import classify, learning
from models import CategoryCorrection, ClassifierRun
from tests import factories as f
from tests.conftest import Clock, TestDB

runner = CliRunner()
# Words the shipped set has never seen, taught by consistent corrections.
NOVEL = ["蝈蝈叫个不停", "蝈蝈一直在叫", "楼下蝈蝈吵人", "邻居养的蝈蝈太响", "蝈蝈半夜叫"]


@pytest.fixture(autouse=True)
def _restore_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test may swap the process's model; the next test gets the shipped one back."""
    classify.warm_up()
    monkeypatch.setattr(classify, "_model", classify._model)
    monkeypatch.setattr(learning, "_loaded", None)
    monkeypatch.setattr(learning, "FOLDS", 3)  # enough to tell better from worse, faster


async def _correct(db: TestDB, pairs: list[tuple[str, str]]) -> None:
    async with db.sessions() as session, session.begin():
        org = await f.org(session)
        request = await f.request(session, org=org)
        session.add_all(
            CategoryCorrection(request_id=request.id, text=text, suggested="other", corrected=cat)
            for cat, text in pairs
        )


async def _runs(db: TestDB) -> list[ClassifierRun]:
    async with db.sessions() as session:
        found = await session.execute(select(ClassifierRun).order_by(ClassifierRun.id))
        return list(found.scalars())


async def test_consistent_corrections_are_adopted_and_logged(
    db: TestDB, caplog: pytest.LogCaptureFixture
) -> None:
    assert classify.suggest("院子里的蝈蝈叫", top=1)[0].category != "noise"
    await _correct(db, [("noise", text) for text in NOVEL] * 2)
    with caplog.at_level(logging.INFO, logger=learning.__name__):
        outcome = await learning.retrain(db.sessions, now=f.NOW)
    assert outcome.adopted and outcome.after >= outcome.before and outcome.corrections == 10
    assert classify.suggest("院子里的蝈蝈叫", top=1)[0].category == "noise"
    (run,) = await _runs(db)
    assert (run.adopted, run.corrections, run.accuracy_before, run.accuracy_after) == (
        True,
        10,
        outcome.before,
        outcome.after,
    )
    assert f"{outcome.before:.4f} before, {outcome.after:.4f} after" in caplog.text


async def test_corrections_that_lower_accuracy_are_not_adopted(db: TestDB) -> None:
    shipped = classify.load_examples()
    chooser = random.Random(16)
    # Shipped texts relabelled at random: the candidate learns noise and scores worse.
    wrong = [
        (chooser.choice([c for c in classify.CATEGORIES if c != category]), text)
        for category, text in chooser.sample(shipped, 400)
    ]
    await _correct(db, wrong)
    in_use = classify._model
    outcome = await learning.retrain(db.sessions, now=f.NOW)
    assert not outcome.adopted and outcome.after < outcome.before
    assert classify._model is in_use
    (run,) = await _runs(db)
    assert (run.adopted, run.accuracy_after < run.accuracy_before) == (False, True)


async def test_a_restart_rebuilds_the_adopted_model(db: TestDB) -> None:
    await _correct(db, [("noise", text) for text in NOVEL] * 2)
    assert (await learning.retrain(db.sessions, now=f.NOW)).adopted
    classify._model = None  # a new process
    learning._loaded = None
    assert await learning.load(db.sessions)
    assert classify.suggest("院子里的蝈蝈叫", top=1)[0].category == "noise"
    assert not await learning.load(db.sessions)  # already built from that run


async def test_without_an_adopted_run_a_start_builds_the_shipped_model(db: TestDB) -> None:
    classify._model = None
    assert not await learning.load(db.sessions)
    assert classify.suggest("楼道灯坏了", top=1)[0].category == "lighting"


async def test_an_unreadable_database_leaves_the_shipped_model(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.sqlite3'}")
    try:
        classify._model = None
        assert not await learning.load(session_factory(engine))
    finally:
        await engine.dispose()
    assert classify.suggest("楼道灯坏了", top=1)[0].category == "lighting"


async def test_the_weekly_sweep_retrains_once_a_week(db: TestDB) -> None:
    await _correct(db, [("noise", text) for text in NOVEL] * 2)
    clock, config = Clock(f.NOW), f.settings()
    job = "retrain_classifier"
    first = await scheduler.run_job(job, sessions=db.sessions, settings=config, clock=clock)
    again = await scheduler.run_job(job, sessions=db.sessions, settings=config, clock=clock)
    assert (first, again) == (1, 0)  # the second worker (or run) adopts, it does not retrain
    clock.advance(days=7)
    assert await scheduler.run_job(job, sessions=db.sessions, settings=config, clock=clock) == 1
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ClassifierRun)) == 2


def test_retrain_by_hand_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'c.sqlite3'}")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["classify", "--retrain"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["adopted"] and figures["corrections"] == 0
    assert figures["top1_before"] == figures["top1_after"] > 0.8
    assert runner.invoke(app, ["classify"]).exit_code == 2  # neither a text nor --retrain
