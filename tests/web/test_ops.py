"""/healthz tells the public ok or not and nothing more; its details and /metrics answer only
holders of web.metrics_token, or anyone on the loopback-only metrics port."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.config import Settings
from bot.metrics import PartHealth
from bot.web.app import serve
from tests.conftest import free_port
from tests.web.conftest import SECRET, Web, build_web, web  # noqa: F401 (the fixture)

TOKEN = "ops-token-for-tests"


def with_metrics_token(settings: Settings, token: str) -> Settings:
    """The settings with web.metrics_token set."""
    web_settings = settings.web.model_copy(update={"metrics_token": SecretStr(token)})
    return settings.model_copy(update={"web": web_settings})


async def test_the_public_health_answer_is_ok_and_nothing_more(web: Web) -> None:  # noqa: F811
    web.app.state.web.settings = with_metrics_token(web.settings, TOKEN)
    web.app.state.web.metrics.parts["telegram"] = PartHealth(state="retrying", attempts=3)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        public = await web.client.get("/healthz", headers=headers)
        assert public.status_code == 200 and public.json() == {"ok": True}, headers
    detailed = await web.client.get("/healthz", headers={"Authorization": f"bearer {TOKEN}"})
    body = detailed.json()
    assert body["ok"] is True and body["database"] == "ok" and "outbox" in body
    assert body["telegram"]["state"] == "retrying" and body["telegram"]["attempts"] == 3


async def test_metrics_need_the_token(web: Web) -> None:  # noqa: F811
    assert (await web.client.get("/metrics")).status_code == 404  # no token configured
    web.app.state.web.settings = with_metrics_token(web.settings, TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = await web.client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "redgrid_" not in refused.text, headers
    web.app.state.web.metrics.parts["telegram"] = PartHealth(state="retrying")
    allowed = await web.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200 and "redgrid_http_responses_total" in allowed.text
    assert 'redgrid_part_running{part="telegram"} 0' in allowed.text
    assert TOKEN not in allowed.text and SECRET not in allowed.text


async def test_the_metrics_port_serves_loopback_only(web: Web) -> None:  # noqa: F811
    port, metrics_port = free_port(), free_port()
    web_settings = web.settings.web.model_copy(
        update={"host": "0.0.0.0", "port": port, "metrics_port": metrics_port}
    )
    settings = web.settings.model_copy(update={"web": web_settings})
    app, _, _ = build_web(web.db, settings, web.clock)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, stop))
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(200):
                try:
                    local = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert local.status_code == 200 and "redgrid_updates_total" in local.text
            health = await http.get(f"http://127.0.0.1:{metrics_port}/healthz")
            assert health.json()["database"] == "ok"
            public = await http.get(f"http://127.0.0.1:{port}/metrics")
            assert public.status_code == 404
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).json() == {"ok": True}
        # The public side listens on every address; the metrics port on loopback alone.
        assert _listening(port) == {"0.0.0.0"}
        assert _listening(metrics_port) == {"127.0.0.1"}
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def _listening(port: int) -> set[str]:
    """The IPv4 addresses listening on `port`, as the kernel lists them (Linux)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


async def test_an_unreachable_database_is_not_ok_and_says_no_more(web: Web) -> None:  # noqa: F811
    web.app.state.web.settings = with_metrics_token(web.settings, TOKEN)
    nowhere = create_async_engine("postgresql+asyncpg://redgrid:pw-in-url@127.0.0.1:1/redgrid")
    web.app.state.web.sessions = async_sessionmaker(nowhere)
    try:
        public = await web.client.get("/healthz")
        assert public.status_code == 503 and public.json() == {"ok": False}
        detailed = await web.client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
        assert detailed.status_code == 503 and detailed.json()["database"] == "unreachable"
        assert "pw-in-url" not in detailed.text
    finally:
        await nowhere.dispose()
