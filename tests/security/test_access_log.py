"""The HTTP access log of `redgrid run`, captured from a real server: one line per request, and
no invite code, start payload, phone number or webhook secret path in it."""

from __future__ import annotations

import asyncio
import io
import logging

import httpx
from fastapi import APIRouter

from bot.logging_setup import configure_logging
from bot.web.app import create_app, serve
from tests.conftest import free_port
from tests.web.conftest import Web, web  # noqa: F401 (the fixture)

HOOK = "/tg/hook-s3cret-path-0123456789"
MARKS = ["inv_Zk8s7QmXbW2", "c_4711", "13812345678", "s3cret-path", "0532-8888-6666"]


async def test_the_access_log_masks_payloads_phones_and_secret_paths(
    web: Web,  # noqa: F811
) -> None:
    port = free_port()
    settings = web.settings.model_copy(
        update={"web": web.settings.web.model_copy(update={"port": port})}
    )
    hook = APIRouter()

    @hook.post(HOOK)
    async def telegram_hook() -> dict[str, bool]:
        return {"ok": True}

    state = web.app.state.web
    app = create_app(
        engine=state.engine,
        sessions=state.sessions,
        settings=settings,
        extra_routers=[hook],
        metrics=state.metrics,
        codec=state.codec,
    )
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.INFO, settings=settings, stream=stream)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, stop))
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(200):
                try:
                    await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            await http.get("/", params={"start": "inv_Zk8s7QmXbW2"})
            await http.get("/", params={"start": "c_4711", "lang": "en"})
            await http.get("/api/messages", params={"after": "1", "phone": "13812345678"})
            await http.get("/", params={"tel": "0532-8888-6666"})
            await http.post(HOOK, json={})
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [line for line in stream.getvalue().splitlines() if "bot.web.access" in line]
    assert len(lines) == 6, stream.getvalue()
    for mark in MARKS:
        assert mark not in stream.getvalue(), mark
    assert any('"GET /?start=***" 200' in line for line in lines), lines
    assert any('"GET /?start=***&lang=***" 200' in line for line in lines), lines
    assert any('"POST ***" 200' in line for line in lines), lines
