"""The sweep registry: every sweep declared beside its domain, collected with its schedule."""

from __future__ import annotations

import types
from collections.abc import Iterator

import pytest

from bot import scheduler, sweeps
from tests import factories as f

# Every sweep and its default schedule, as `redgrid jobs list` shows it.
SCHEDULES = {
    "escalate": "every 60s",
    "reminders": "every 60s",
    "whistles": "every 60s",
    "close_unrated": "every 3600s",
    "volunteer_widen": "every 300s",
    "upkeep": "daily 06:00",
    "resident_digest": "daily 07:30",
    "queue_digest": "daily 08:00",
    "volunteer_reminder": "daily 09:00",
    "weekly_report": "mon 08:30",
    "meeting_reminders": "every 300s",
    "close_polls": "every 60s",
    "expire_exports": "every 3600s",
    "upload_sweep": "every 3600s",
    "broadcast_progress": "every 60s",
    "retrain_classifier": "sun 03:30",
    "property_polls": "daily 09:00",
    "cobuild_grading": "every 600s",
}


def test_the_scheduler_collects_every_sweep_with_its_schedule() -> None:
    rows = {name: (on, schedule) for name, on, schedule, _ in scheduler.next_runs(
        f.settings(), now=f.NOW
    )}  # fmt: skip
    assert rows == {name: (True, schedule) for name, schedule in SCHEDULES.items()}
    built = scheduler.build_scheduler(sessions=None, settings=f.settings(), clock=lambda: f.NOW)  # type: ignore[arg-type]
    assert {job.id for job in built.get_jobs()} == set(SCHEDULES)


def test_each_sweep_is_declared_in_its_domain_package() -> None:
    homes = {name: job.run.__module__ for name, job in scheduler.JOBS.items()}
    assert all(home.startswith("bot.services.") for home in homes.values()), homes
    assert homes["escalate"] == "bot.services.dispatch.escalation"
    assert homes["broadcast_progress"] == "bot.services.comms.broadcast"
    assert homes["retrain_classifier"] == "bot.services.cases.learning"
    batched = {name for name, job in scheduler.JOBS.items() if job.batched}
    assert batched == {
        "escalate",
        "reminders",
        "whistles",
        "close_unrated",
        "volunteer_widen",
        "property_polls",
        "cobuild_grading",
    }
    assert homes["property_polls"] == "bot.services.cobuild.property_polls"
    assert [name for name, job in scheduler.JOBS.items() if job.heartbeat] == ["escalate"]
    assert [name for name, job in scheduler.JOBS.items() if job.own_sessions] == [
        "retrain_classifier"
    ]


def test_the_former_deadlines_key_still_sets_the_escalate_sweep() -> None:
    config = f.settings(scheduler={"deadlines": {"enabled": False}})
    assert "escalate" not in scheduler.enabled_jobs(config)
    config = f.settings(scheduler={"deadlines": {"every_seconds": 30}})
    assert scheduler.job_settings(config, "escalate").every_seconds == 30


@pytest.fixture
def scratch_registry() -> Iterator[None]:
    saved = dict(sweeps.REGISTRY)
    yield
    sweeps.REGISTRY.clear()
    sweeps.REGISTRY.update(saved)


@pytest.mark.usefixtures("scratch_registry")
def test_two_sweeps_cannot_share_a_name() -> None:
    async def first(session: object) -> int:
        return 0

    async def second(session: object) -> int:
        return 0

    # The same function from its module imported anew: another object, the same name.
    again = types.FunctionType(first.__code__, first.__globals__)

    sweeps.sweep("scratch", description="one")(first)
    sweeps.sweep("scratch", description="one")(again)
    with pytest.raises(ValueError, match="scratch"):
        sweeps.sweep("scratch", description="two")(second)


def test_a_sweep_counts_what_it_handled() -> None:
    assert (sweeps.handled(3), sweeps.handled(["a", "b"]), sweeps.handled([])) == (3, 2, 0)
