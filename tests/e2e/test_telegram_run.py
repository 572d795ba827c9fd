"""`run_telegram` as `redgrid run` starts it, and updates whose handling hit a database outage."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.channels.telegram_runtime import run_telegram
from bot.config import Settings
from tests.conftest import Clock
from tests.e2e.conftest import (
    SECRET,
    build_rig,
    make_client,
    make_telegram_engine,
    serialised,
    telegram_configured,
)
from tests.fakes.bot_api import FakeBotAPI

if TYPE_CHECKING:
    from tests.conftest import TestDB


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_run_telegram_answers_and_sets_commands(
    framework: str, mode: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    api = FakeBotAPI()
    await api.start()
    configured = telegram_configured(settings, api, framework=framework, mode=mode)
    client = make_client(framework, api)
    engine, _ = make_telegram_engine(demo, configured, clock, client)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_telegram(configured, engine, client, stop=stop, poll_timeout=1, concurrency=1)
    )
    try:
        user = api.user(6100)
        for _ in range(500):
            if api.calls_of("setMyCommands") and (mode == "polling" or api.webhook.url):
                break
            await asyncio.sleep(0.01)
        sent = await user.send("/start")
        assert sent and "红网格" in sent[0]["text"]
        default = api.commands[(json.dumps({"type": "default"}), "")]
        assert {"command": "new", "description": "报告一个新诉求"} in default
        if mode == "webhook":
            assert api.webhook.url.endswith("/tg/hook") and api.webhook.secret == SECRET
        else:
            assert api.calls_of("deleteWebhook")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await api.close()


def _flaky(handle: Any, failures: int) -> Any:
    """A handler whose database is down for the first `failures` updates."""
    left = [failures]

    async def flaky(update: dict[str, Any]) -> bool:
        if left[0] > 0:
            left[0] -= 1
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        return bool(await handle(update))

    return flaky


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_database_outage_leaves_the_update_unconfirmed(
    framework: str, mode: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, mode, demo, settings, clock)
    rig.handle = serialised(_flaky(rig.handle, failures=2))
    if mode == "polling":
        await rig.start_polling()
    else:
        await rig.start_webhook()
    try:
        user = rig.user()
        sent = await user.send("/start")  # waits until Telegram got its confirmation
        assert sent and "红网格" in sent[0]["text"]
        if mode == "webhook":
            statuses = [
                s for u, s in rig.api.webhook.deliveries if u == user.last_update["update_id"]
            ]
            assert statuses == [503, 503, 200]
    finally:
        await rig.close()
