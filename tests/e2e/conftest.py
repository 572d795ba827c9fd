"""The bot on a real framework (python-telegram-bot or aiogram), in polling or webhook mode,
against the fake Bot API server, on the test database."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.channels.telegram_base import TelegramAdapter
from bot.channels.telegram_polling import poll
from bot.channels.telegram_runtime import UpdateHandler, ensure_webhook, make_update_handler
from bot.channels.telegram_webhook import RunningServer, make_webhook_router, serve_webhook
from bot.config import Settings
from bot.config_channels import TelegramSettings
from bot.core.engine import Engine
from bot.outbox import Limits, Sender
from tests.conftest import Clock, TestDB, engine_and_sender, free_port
from tests.fakes.bot_api import FakeBotAPI, FakeUser

SECRET = "s3cret-Token_1"
_user_ids = itertools.count(5001)
# The test clock stands still, so buckets must never run dry (pacing has its own tests).
UNLIMITED = Limits(
    global_rate=1e9,
    chat_rate=1e9,
    group_rate_per_minute=1e9,
    global_burst=1e9,
    chat_burst=1e9,
    group_burst=1e9,
)


def make_client(framework: str, api: FakeBotAPI, *, timeout: float = 3.0) -> TelegramAdapter:
    if framework == "ptb":
        from bot.channels.telegram_ptb import PtbTelegram

        return PtbTelegram.create(api.token, api.base_url, timeout=timeout)
    from bot.channels.telegram_aiogram import AiogramTelegram

    return AiogramTelegram.create(api.token, api.base_url, timeout=timeout)


def make_telegram_engine(
    db: TestDB, settings: Settings, clock: Clock, client: Any
) -> tuple[Engine, Sender]:
    """An engine as production builds it (see tests/conftest.make_engine), with its sender."""
    return engine_and_sender(db, settings, clock, {client.name: client}, limits=UNLIMITED)


@dataclass
class Rig:
    """One bot on one framework and mode, its fake Bot API, and the test database."""

    framework: str
    mode: str
    api: FakeBotAPI
    client: TelegramAdapter
    engine: Engine
    sender: Sender
    db: TestDB
    clock: Clock
    handle: UpdateHandler
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    poller: asyncio.Task[None] | None = None
    server: RunningServer | None = None

    def user(self, **kwargs: Any) -> FakeUser:
        """A new Telegram user (ids differ between rigs too)."""
        return self.api.user(next(_user_ids), **kwargs)

    async def start_polling(self, handle: UpdateHandler | None = None) -> asyncio.Task[None]:
        self.stop = asyncio.Event()
        self.poller = asyncio.create_task(
            poll(
                self.client,
                handle or self.handle,
                stop=self.stop,
                poll_timeout=1,
                concurrency=1,
                retry_delay=0.05,
            )
        )
        return self.poller

    async def start_webhook(self) -> None:
        router = make_webhook_router(
            path="/telegram/hook", secret=SECRET, handle_update=self.handle
        )
        self.server = await serve_webhook(router)
        await ensure_webhook(self.client, url=self.webhook_url, secret=SECRET)

    @property
    def webhook_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}/telegram/hook"

    async def close_poller(self) -> None:
        """Stop polling (the process ends normally: handled updates are confirmed)."""
        self.stop.set()
        if self.poller is not None:
            await asyncio.wait_for(asyncio.gather(self.poller, return_exceptions=True), 10)
            self.poller = None

    async def close(self) -> None:
        await self.close_poller()
        if self.server is not None:
            await self.server.stop()
        await self.client.close()
        await self.api.close()


def serialised(handle: UpdateHandler) -> UpdateHandler:
    """One update at a time: a test's sessions share one database connection."""
    lock = asyncio.Lock()

    async def locked(update: dict[str, Any]) -> bool:
        async with lock:
            return await handle(update)

    return locked


async def build_rig(framework: str, mode: str, db: TestDB, settings: Settings, clock: Clock) -> Rig:
    api = FakeBotAPI()
    await api.start()
    client = make_client(framework, api)
    engine, sender = make_telegram_engine(db, settings, clock, client)
    await client.start()
    handle = serialised(make_update_handler(engine, client))
    return Rig(framework, mode, api, client, engine, sender, db, clock, handle)


@pytest.fixture(params=["ptb", "aiogram"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def rig(
    framework: str, mode: str, demo: TestDB, settings: Settings, clock: Clock
) -> AsyncIterator[Rig]:
    """A running bot: parametrised over {ptb, aiogram} x {polling, webhook} (x the databases)."""
    running = await build_rig(framework, mode, demo, settings, clock)
    if mode == "polling":
        await running.start_polling()
    else:
        await running.start_webhook()
    try:
        yield running
    finally:
        await running.close()


def telegram_configured(
    settings: Settings, api: FakeBotAPI, *, framework: str, mode: str
) -> Settings:
    """`settings` with Telegram on the fake Bot API (its webhook on a free local port)."""
    port = free_port()
    telegram = TelegramSettings.model_validate(
        {
            "token": api.token,
            "framework": framework,
            "mode": mode,
            "api_base_url": api.base_url,
            "webhook_url": f"http://127.0.0.1:{port}/tg/hook",
            "webhook_secret": SECRET,
        }
    )
    return settings.model_copy(
        update={"telegram": telegram, "web": settings.web.model_copy(update={"port": port})}
    )
