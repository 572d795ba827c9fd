"""The WeChat channel over the test database: the callback served on loopback (real HTTP),
the fake WeChat API behind the channel, and a driver playing WeChat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram_webhook import RunningServer, serve_webhook
from bot.channels.wechat import CALLBACK_PATH
from bot.channels.wechat.callback import Callback, make_wechat_router
from bot.channels.wechat.outbound import WechatChannel
from bot.channels.wechat.setup import make_callback, make_channel
from bot.config import Settings, load_settings
from bot.core.engine import Engine
from bot.core.flood import FloodGate
from bot.outbox import Sender
from tests.conftest import Clock, TestDB, engine_and_sender
from tests.e2e.conftest import UNLIMITED
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatAPI
from tests.fakes.wechat_callback import AES_KEY, TOKEN, WechatDriver


def wechat_settings(api: FakeWechatAPI, upload_dir: Path, mode: str, **wechat: Any) -> Settings:
    """Settings with the channel on, pointed at the fake API."""
    values: dict[str, Any] = {
        "enabled": True,
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "encrypt_mode": mode,
        "api_base_url": api.base_url,
        # The rig's residents type faster than people; the pacing has a test of its own.
        "sends_per_openid_per_s": 1000.0,
        **wechat,
    }
    return load_settings(wechat=values, webchat={"upload_dir": str(upload_dir)})


@dataclass
class WechatRig:
    """The channel, its engine and sender, the served callback, the fake API, the driver."""

    settings: Settings
    api: FakeWechatAPI
    channel: WechatChannel
    callback: Callback
    engine: Engine
    sender: Sender
    server: RunningServer
    driver: WechatDriver
    db: TestDB
    clock: Clock

    async def close(self) -> None:
        await self.driver.close()
        await self.server.stop()
        await self.channel.api.close()
        await self.api.close()


async def open_rig(
    db: TestDB, clock: Clock, upload_dir: Path, mode: str = "safe", **wechat: Any
) -> WechatRig:
    api = FakeWechatAPI(now=clock)
    await api.start()
    settings = wechat_settings(api, upload_dir, mode, **wechat)
    channel = make_channel(settings, db.sessions, clock)
    engine, sender = engine_and_sender(
        db,
        settings,
        clock,
        {channel.name: channel},
        worker_id="wechat-test",
        limits=UNLIMITED,
        flood=FloodGate(0),
    )
    callback = make_callback(
        settings, engine=engine, channel=channel, sessions=db.sessions, sender=sender, clock=clock
    )
    server = await serve_webhook(make_wechat_router(callback))
    url = f"http://127.0.0.1:{server.port}{CALLBACK_PATH}"
    driver = WechatDriver(url, api=api, clock=clock, mode=mode, settle=callback.idle)
    return WechatRig(settings, api, channel, callback, engine, sender, server, driver, db, clock)


@pytest.fixture(params=["plain", "safe"])
async def rig(
    request: pytest.FixtureRequest,
    demo: TestDB,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[WechatRig]:
    """The channel in plain and in safe mode, on the demo district."""
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    opened = await open_rig(demo, clock, tmp_path / "uploads", request.param)
    try:
        yield opened
    finally:
        await opened.close()
