"""The first day (tests/e2e/first_day.py) through python-telegram-bot and aiogram: each scenario
holds on both frameworks, and every person is sent exactly what the conversation core sends them
through the in-product test channel (from the same database state, at the same times)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.config import Settings
from tests.conftest import Clock
from tests.e2e.conftest import build_rig, make_telegram_engine
from tests.e2e.first_day import BOT_USERNAME, SCENARIOS, Scenario
from tests.e2e.parties import CoreWorld, TelegramWorld, Transcript

if TYPE_CHECKING:
    from tests.conftest import TestDB

# Each scenario in one delivery mode (both are covered; the modes have tests of their own).
MODES = {name: ("webhook" if i % 2 else "polling") for i, name in enumerate(SCENARIOS)}


async def _in_core(
    scenario: Scenario, demo: TestDB, settings: Settings, clock: Clock
) -> dict[str, Transcript]:
    from bot.channels.testing import TestChannel

    channel = TestChannel(name="telegram")
    engine, sender = make_telegram_engine(demo, settings, clock, channel)
    world = CoreWorld(demo, clock, engine, sender, channel=channel)
    await scenario(world)
    return world.transcripts()


async def _on_telegram(
    framework: str, scenario: Scenario, demo: TestDB, settings: Settings, clock: Clock
) -> dict[str, Transcript]:
    mode = MODES[scenario.__name__]
    rig = await build_rig(framework, mode, demo, settings, clock)
    if mode == "polling":
        await rig.start_polling()
    else:
        await rig.start_webhook()
    try:
        world = TelegramWorld(demo, clock, rig.engine, rig.sender, rig=rig)
        await scenario(world)
        return world.transcripts()
    finally:
        await rig.close()


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_first_day_on_both_frameworks_as_on_the_core(
    name: str, demo: TestDB, settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    settings.stats.export_dir = tmp_path  # invite QR codes and charts
    settings.meetings.bot_username = BOT_USERNAME  # the core is told; Telegram's getMe tells
    scenario = SCENARIOS[name]
    start = clock.now
    run = await demo.connection.begin_nested()
    expected = await _in_core(scenario, demo, settings, clock)
    await run.rollback()
    assert sum(len(t) for t in expected.values()) >= 5  # whole conversations
    for framework in ("ptb", "aiogram"):
        clock.now = start
        settings.meetings.bot_username = ""  # learned from getMe
        run = await demo.connection.begin_nested()
        try:
            got = await _on_telegram(framework, scenario, demo, settings, clock)
        finally:
            await run.rollback()
        for person, transcript in expected.items():
            assert got[person] == transcript, (framework, person)
