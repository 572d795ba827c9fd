"""A Telegram part that cannot start (getMe or setWebhook refused) is tried again in the
background with a capped, jittered backoff; the web chat keeps serving and /healthz says so."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bot import migrate, runtime
from bot.channels.telegram_keeper import backoff, keep_telegram
from bot.config import Settings, load_settings
from bot.db import create_engine
from bot.metrics import PartHealth
from tests.conftest import Clock, free_port
from tests.e2e.conftest import make_client, make_telegram_engine, telegram_configured
from tests.fakes.bot_api import FakeBotAPI

if TYPE_CHECKING:
    from tests.conftest import TestDB

TOKEN = "metrics-token-for-tests"


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    low = [backoff(n, first=1, cap=60, rand=lambda: 0.0) for n in range(1, 9)]
    high = [backoff(n, first=1, cap=60, rand=lambda: 0.999999) for n in range(1, 9)]
    assert low == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert [round(h) for h in high] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(10_000, first=1, cap=300) <= 300


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
@pytest.mark.parametrize(("mode", "refused"), [("polling", "getMe"), ("webhook", "setWebhook")])
async def test_a_refused_start_is_retried_until_telegram_answers(
    framework: str,
    mode: str,
    refused: str,
    demo: TestDB,
    settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeBotAPI()
    await api.start()
    api.fail(refused, status=502, description="Bad Gateway", times=2)
    configured = telegram_configured(settings, api, framework=framework, mode=mode)
    client = make_client(framework, api)
    engine, _ = make_telegram_engine(demo, configured, clock, client)
    stop, health = asyncio.Event(), PartHealth()
    options: dict[str, Any] = {"poll_timeout": 1, "concurrency": 1}
    with caplog.at_level(logging.WARNING, logger="bot.channels.telegram_keeper"):
        task = asyncio.create_task(
            keep_telegram(
                configured, engine, client, stop=stop, health=health, first_delay=0.05, **options
            )
        )
        try:
            for _ in range(300):
                if health.state == "running":
                    break
                await asyncio.sleep(0.02)
            assert health.state == "running" and health.attempts == 3
            assert health.last_error is not None and api.token not in health.last_error
            sent = await api.user(6200).send("/start")
            assert sent and "红网格" in sent[0]["text"]
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            await api.close()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("trying again" in line for line in lines)
    assert not any(api.token in line for line in lines)


def _settings(tmp_path: Path, api: FakeBotAPI, port: int) -> Settings:
    return load_settings(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/redgrid.sqlite3"},
        telegram={"token": api.token, "api_base_url": api.base_url},
        web={"port": port, "metrics_token": TOKEN},
        webchat={"session_secret": "keeper-test-secret", "upload_dir": str(tmp_path / "up")},
        scheduler={"enabled": False},
    )


async def test_the_web_chat_serves_while_telegram_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    monkeypatch.setattr(runtime, "settle_heap", lambda: None)  # no gc.freeze in the test run
    api = FakeBotAPI()
    await api.start()
    api.fail("getMe", status=502, description="Bad Gateway", times=10**6)
    port = free_port()
    settings = _settings(tmp_path, api, port)
    database = create_engine(settings.database.url)
    await migrate.upgrade(database)
    await database.dispose()
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.serve_forever(runtime.build(settings), stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(300):
                if task.done():
                    await task  # the whole process stopped: the failure shows here
                try:
                    public = await http.get("/healthz")
                    if len(api.calls_of("getMe")) >= 2:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            assert public.status_code == 200 and public.json() == {"ok": True}
            detailed = await http.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
            part = detailed.json()["telegram"]
            assert part["state"] == "retrying" and part["last_error"]
            assert part["since"] is not None and part["attempts"] >= 2
            assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await api.close()
