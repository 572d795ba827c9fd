"""Stopping while the flood limit holds a Telegram update: it is left unconfirmed (polling does
not move the offset past it, the webhook answers 503), never answered with a 500, and the next
process handles it once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.core.flood import FloodGate
from models import ProcessedUpdate
from tests.conftest import Clock
from tests.e2e.conftest import build_rig

if TYPE_CHECKING:
    from tests.conftest import TestDB


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_held_update_is_left_for_redelivery_at_shutdown(
    framework: str, mode: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, mode, demo, settings, clock)
    rig.engine.flood = FloodGate(1)
    await (rig.start_polling() if mode == "polling" else rig.start_webhook())
    try:
        user = rig.user()
        assert await user.send("/help")
        await user.send("/menu", wait=False)
        held = int(user.last_update["update_id"])
        await asyncio.sleep(0.5)
        assert held not in rig.api.confirmed  # waiting for the minute's slot
        rig.engine.stop_holding()
        if mode == "polling":
            await asyncio.wait_for(rig.close_poller(), 5)
        else:
            for _ in range(100):
                if any(u == held for u, _ in rig.api.webhook.deliveries):
                    break
                await asyncio.sleep(0.05)
        assert held not in rig.api.confirmed
        statuses = {s for u, s in rig.api.webhook.deliveries if u == held}
        assert 500 not in statuses
        # The next process: not stopping, room in the limit. Telegram delivers it again.
        rig.engine.stopping, rig.engine.flood = asyncio.Event(), FloodGate(0)
        if mode == "polling":
            await rig.start_polling()
        await rig.api.wait_confirmed(held, within=10)
        if mode == "webhook":
            statuses_in_order = [s for u, s in rig.api.webhook.deliveries if u == held]
            assert statuses_in_order[0] == 503 and statuses_in_order[-1] == 200
            assert set(statuses_in_order) == {503, 200}
        async with rig.db.sessions() as session:
            handled = await session.scalar(
                select(func.count())
                .select_from(ProcessedUpdate)
                .where(ProcessedUpdate.update_id == str(held))
            )
        assert handled == 1
    finally:
        await rig.close()
