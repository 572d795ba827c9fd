"""The web app over the test database: an httpx client talking ASGI, and the sender behind it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from bot.channels.webchat import Hub, webchat_outputs
from bot.config import Settings, load_settings
from bot.metrics import Metrics
from bot.outbox import Limits, Sender
from bot.web import create_app
from bot.web.auth import CSRF_HEADER
from tests.conftest import Clock, TestDB, engine_and_sender

SECRET = "test-session-secret"
# The test clock stands still, so rate buckets never refill: give them room for a whole test.
ROOMY = Limits(
    global_rate=1000.0,
    chat_rate=1000.0,
    group_rate_per_minute=1000.0,
    global_burst=1e6,
    chat_burst=1e6,
    group_burst=1e6,
)


@dataclass
class Web:
    """One app under test: its client, sender, hub and settings."""

    app: FastAPI
    client: httpx.AsyncClient
    sender: Sender
    hub: Hub
    settings: Settings
    db: TestDB
    clock: Clock

    async def start(self) -> dict[str, object]:
        """Start a new resident session; returns the session description."""
        response = await self.client.post("/api/session", headers={CSRF_HEADER: "new"})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def as_demo(self, person: str) -> dict[str, object]:
        """Act as a demo person."""
        response = await self.client.post(
            "/api/session/demo", json={"person": person}, headers={CSRF_HEADER: "new"}
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def send(self, csrf: str, key: str, **body: object) -> httpx.Response:
        """POST /api/send with the session's CSRF token."""
        return await self.client.post(
            "/api/send", json={"key": key, **body}, headers={CSRF_HEADER: csrf}
        )

    async def texts(self, after: int | None = None) -> list[str]:
        """Texts of the chat's delivered messages."""
        params = {} if after is None else {"after": after}
        response = await self.client.get("/api/messages", params=params)
        assert response.status_code == 200, response.text
        return [m["text"] for m in response.json()["messages"]]


def web_settings(upload_dir: Path, **webchat: object) -> Settings:
    """Settings for a test app: a fixed session secret, uploads in a temp folder."""
    return load_settings(
        webchat={"session_secret": SECRET, "upload_dir": str(upload_dir), **webchat}
    )


def build_web(
    db: TestDB, settings: Settings, clock: Clock, extra_routers: Sequence[APIRouter] = ()
) -> tuple[FastAPI, Sender, Hub]:
    """The app as `redgrid run` builds it, over the test database."""
    hub = Hub()
    outputs = webchat_outputs(hub)
    metrics = Metrics()
    engine, sender = engine_and_sender(
        db, settings, clock, outputs, worker_id="web-test", limits=ROOMY, metrics=metrics
    )
    app = create_app(
        engine=engine,
        sessions=db.sessions,
        settings=settings,
        metrics=metrics,
        extra_routers=extra_routers,
    )
    return app, sender, hub


@contextlib.asynccontextmanager
async def open_web(demo: TestDB, upload_dir: Path, clock: Clock) -> AsyncIterator[Web]:
    """The app over `demo` with uploads of at most 1 MB, demo identities on (the app is on
    loopback), and a client speaking Chinese."""
    settings = web_settings(upload_dir, max_upload_mb=1, demo=True)
    app, sender, hub = build_web(demo, settings, clock)
    transport = httpx.ASGITransport(app=app)
    headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        yield Web(app, client, sender, hub, settings, demo, clock)


@pytest.fixture
async def web(
    demo: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> AsyncIterator[Web]:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    async with open_web(demo, tmp_path / "uploads", clock) as opened:
        yield opened
