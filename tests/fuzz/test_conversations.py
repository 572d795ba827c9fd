"""Generated conversations through the real engine; see tests/fuzz/driver.py for the invariants.

Figures (updates, invariants, failures) and both seeds print in the terminal summary. Replay a
failure with `REDGRID_FUZZ_SEED=<seed> pytest tests/fuzz`. Each example runs inside a savepoint
that is rolled back, so examples do not see each other and replay exactly.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bot.channels.testing import TestChannel
from bot.config import Settings
from models import Role
from tests import conftest as fixtures
from tests.conftest import Clock, make_engine
from tests.fuzz.conftest import FIGURES, FIXED_SEED, RANDOM_SEED
from tests.fuzz.driver import Fuzz
from tests.fuzz.strategies import language_code

STEPS = int(os.environ.get("REDGRID_FUZZ_STEPS", "40"))
# Examples per seed on SQLite; PostgreSQL runs a smaller share (same code paths, slower).
EXAMPLES = int(os.environ.get("REDGRID_FUZZ_EXAMPLES", "150"))
PG_EXAMPLES = max(1, EXAMPLES // 8)

_ids = itertools.count(1)
START = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # replay comes from the printed seed, not a local example store
        suppress_health_check=list(HealthCheck),
        # Shrinking replays whole conversations through the engine and can take many
        # minutes; a failure already names its last updates. REDGRID_FUZZ_SHRINK=1 turns it on.
        phases=[Phase.explicit, Phase.reuse, Phase.generate]
        + ([Phase.shrink] if os.environ.get("REDGRID_FUZZ_SHRINK") == "1" else []),
    )


async def _run_example(
    demo: fixtures.TestDB, config: Settings, clock: Clock, data: st.DataObject
) -> None:
    FIGURES.examples += 1
    # Each example starts on a weekday morning and moves 5 s a step: a person sends a few
    # messages a minute, under the flood limit, and nothing falls in quiet hours.
    clock.now = START
    channel = TestChannel()
    engine = make_engine(demo, config, clock, channel)
    savepoint = await demo.connection.begin_nested()
    try:
        fuzz = Fuzz(engine, channel, demo, data)
        run = next(_ids)
        for index in range(3):
            fuzz.add_resident(f"fz{run}r{index}", data.draw(language_code(), label="lang"))
        await fuzz.add_staff(f"fz{run}s", Role.grid_staff, "heshun-1", "staff")
        await fuzz.add_staff(f"fz{run}a", Role.admin, "heshun", "admin")
        await fuzz.add_staff(f"fz{run}w", Role.steward, "steward-1", "steward")
        if data.draw(st.integers(0, 2), label="warm_up") == 0:
            fuzz.actors[0].chat.language_code = "zh"
            await fuzz.warm_up()
        for _ in range(STEPS):
            clock.advance(seconds=5)
            await fuzz.step()
        await fuzz.check_end()
    finally:
        await savepoint.rollback()


def _examples(kind: str) -> int:
    return EXAMPLES if kind == "sqlite" else PG_EXAMPLES


@pytest.fixture(params=["sqlite", "postgres"])
def fuzz_db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.slow
@pytest.mark.parametrize("demo_database", ["sqlite"], indirect=True)
@seed(FIXED_SEED)
@_settings(EXAMPLES)
@given(data=st.data())
async def test_fuzz_fixed_seed_sqlite(
    demo: fixtures.TestDB, settings: Settings, clock: Clock, data: st.DataObject
) -> None:
    await _run_example(demo, settings, clock, data)


@pytest.mark.slow
@pytest.mark.parametrize("demo_database", ["sqlite"], indirect=True)
@seed(RANDOM_SEED)
@_settings(EXAMPLES)
@given(data=st.data())
async def test_fuzz_random_seed_sqlite(
    demo: fixtures.TestDB, settings: Settings, clock: Clock, data: st.DataObject
) -> None:
    await _run_example(demo, settings, clock, data)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("demo_database", ["postgres"], indirect=True)
@seed(RANDOM_SEED)
@_settings(PG_EXAMPLES)
@given(data=st.data())
async def test_fuzz_random_seed_postgres(
    demo: fixtures.TestDB, settings: Settings, clock: Clock, data: st.DataObject
) -> None:
    await _run_example(demo, settings, clock, data)
