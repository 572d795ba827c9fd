"""Every input of the web app is bounded before it is read, on SQLite and PostgreSQL: body
sizes per route (declared or streamed), numbers in queries and headers, photo uploads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Request

from bot.web.auth import CSRF_HEADER
from tests.conftest import Clock, TestDB
from tests.web.conftest import Web, build_web, web_settings
from tests.web.test_api import JPEG, _onboard

SEND = {"key": "big-body-0001", "kind": "text"}


async def _chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    """A body sent in chunks with no declared length (Transfer-Encoding: chunked)."""
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


async def test_a_declared_body_over_the_limit_is_refused_before_the_session(web: Web) -> None:
    # No cookie at all: the size is what refuses it, in the browser's language.
    response = await web.client.post(
        "/api/send",
        content=b"{" + b" " * (64 * 1024) + b"}",
        headers={CSRF_HEADER: "x", "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "发送的内容太大了（最多 64 KB），请缩短后再试。",
        "code": "body_too_large",
    }
    assert response.headers["connection"] == "close"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_streamed_body_is_cut_off_at_the_limit(web: Web) -> None:
    session = await web.start()
    response = await web.client.post(
        "/api/send",
        content=_chunks(1024 * 1024),
        headers={CSRF_HEADER: str(session["csrf"]), "accept-language": "en"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert "at most 64 KB" in response.json()["error"]
    # Under the limit the same route works.
    ok = await web.send(str(session["csrf"]), "small-body-01", kind="text", text="/start")
    assert ok.status_code == 200


async def test_a_photo_body_may_be_as_large_as_a_photo_and_no_larger(web: Web) -> None:
    # Refused by its size before anything else: there is not even a session yet.
    over = await web.client.post(
        "/api/photo",
        content=b"x" * (1024 * 1024 + 65 * 1024),
        headers={CSRF_HEADER: "x", "content-type": "multipart/form-data; boundary=b"},
    )
    assert over.status_code == 413
    assert over.json() == {
        "error": "照片太大了，请上传不超过 1 MB 的照片。",
        "code": "photo_too_large",
    }
    # A photo larger than 64 KB (the other routes' limit) is fine here.
    session = await web.start()
    headers = {CSRF_HEADER: str(session["csrf"])}
    await _onboard(web, str(session["csrf"]))
    await web.send(str(session["csrf"]), "report-key-0001", kind="text", text="楼道灯坏了")
    photo = JPEG + b"\x00" * (200 * 1024)
    ok = await web.client.post(
        "/api/photo",
        files={"file": ("p.jpg", photo, "image/jpeg")},
        data={"key": "photo-key-big1"},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text


async def test_routes_other_channels_bring_get_the_webhook_limit(
    demo: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    settings = web_settings(tmp_path / "uploads")
    router = APIRouter()

    @router.post("/hook/secret-path")
    async def hook(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    app, _, _ = build_web(demo, settings, clock, extra_routers=[router])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ok = await client.post("/hook/secret-path", content=b"u" * (512 * 1024))
        assert ok.json() == {"size": 512 * 1024}
        streamed = await client.post("/hook/secret-path", content=_chunks(1024 * 1024 + 1))
        assert streamed.status_code == 413
        declared = await client.post("/hook/secret-path", content=b"u" * (1024 * 1024 + 1))
        assert declared.status_code == 413


NOT_IDS = ["99999999999999999999", "9223372036854775808", "-1", "abc", "1e3", "²", ""]


@pytest.mark.parametrize("route", ["/api/messages", "/api/events"])
async def test_numbers_in_queries_outside_an_id_are_refused(web: Web, route: str) -> None:
    await web.start()
    for after in NOT_IDS:
        # An accepted number would open an endless event stream: fail instead of waiting on it.
        response = await asyncio.wait_for(web.client.get(route, params={"after": after}), 10)
        assert response.status_code == 422, after
        assert response.json() == {"error": "请求格式不正确。", "code": "bad_request"}
    if route == "/api/messages":  # the largest id is a number like any other
        last = await web.client.get(route, params={"after": str(2**63 - 1)})
        assert last.status_code == 200 and last.json()["messages"] == []


# A valid one is "<row id>" or "<row id>.<own message id>" (bot.web.chat).
@pytest.mark.parametrize(
    "last", ["99999999999999999999", "-5", "x", "²", "1.5.6", "1.", "1.99999999999999999999"]
)
async def test_a_last_event_id_that_is_no_id_is_refused(web: Web, last: str) -> None:
    await web.start()
    # As bytes: a header is latin-1 on the wire, where "²" is one byte that "isdigit".
    response = await asyncio.wait_for(
        web.client.get("/api/events", headers={"last-event-id": last.encode("latin-1")}), 10
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
