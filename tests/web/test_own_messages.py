"""The person's own messages are kept on the server: every tab and device of the same identity
gets them, in order with the bot's, in the history, the replay and the event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.web.auth import COOKIE, CSRF_HEADER
from models import WebOwnMessage
from tests.web.conftest import Web
from tests.web.test_api import JPEG, _button

PNG_FILE = ("photo.jpg", JPEG, "image/jpeg")


@asynccontextmanager
async def device(web: Web, person: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """Another browser acting as the same demo person: its client and CSRF token."""
    transport = httpx.ASGITransport(app=web.app)
    headers = {"Accept-Language": "zh-CN"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        response = await client.post(
            "/api/session/demo", json={"person": person}, headers={CSRF_HEADER: "new"}
        )
        assert response.status_code == 200, response.text
        yield client, str(response.json()["csrf"])


def merged(page: dict[str, Any]) -> list[tuple[str, str]]:
    """The page's messages in the order the page shows them: (who, text)."""
    out: list[tuple[str, str]] = []
    mine = list(page["mine"])
    for row in page["messages"]:
        while mine and mine[0]["after"] < row["id"]:
            out.append(("me", mine.pop(0)["text"]))
        out.append(("bot", row["text"]))
    out += [("me", m["text"]) for m in mine]
    return out


async def own_rows(web: Web) -> list[WebOwnMessage]:
    async with web.db.sessions() as db:
        return list(await db.scalars(select(WebOwnMessage).order_by(WebOwnMessage.id)))


async def test_own_messages_reach_another_device_in_order(web: Web) -> None:
    session = await web.as_demo("zhang-ayi")
    csrf = str(session["csrf"])
    async with device(web, "zhang-ayi") as (other, _):
        await web.send(csrf, "own-key-0001", kind="text", text="/my", language="zh-CN")
        await web.send(csrf, "own-key-0002", kind="text", text="楼道灯坏了", language="zh-CN")
        page = (await other.get("/api/messages")).json()
    order = merged(page)
    mine = [text for who, text in order if who == "me"]
    assert mine == ["/my", "楼道灯坏了"]
    # Each own message comes before the bot's answer to it.
    first, second = order.index(("me", "/my")), order.index(("me", "楼道灯坏了"))
    assert first < second and order[first + 1][0] == "bot" and order[second + 1][0] == "bot"
    assert [m["key"] for m in page["mine"]] == ["own-key-0001", "own-key-0002"]
    assert page["mine"][0]["at"]  # for the page's time lines


async def test_a_pressed_chip_is_kept_by_its_label_and_greys_it(web: Web) -> None:
    session = await web.start()
    csrf = str(session["csrf"])
    await web.send(csrf, "chip-key-0001", kind="text", text="/start", quiet=True, language="zh-CN")
    messages = (await web.client.get("/api/messages")).json()["messages"]
    shown = next(m for m in messages if any(b[0] == "潮海街道" for r in m["buttons"] for b in r))
    await web.send(
        csrf,
        "chip-key-0002",
        kind="button",
        data=await _button(web, "潮海街道"),
        message_id=str(shown["id"]),
    )
    page = (await web.client.get("/api/messages")).json()
    # The quiet /start the page sent by itself is not shown; the chip is, by its label.
    assert [(m["kind"], m["text"], m["pressed"]) for m in page["mine"]] == [
        ("button", "潮海街道", shown["id"])
    ]


async def test_a_retried_post_is_kept_once_and_refusals_not_at_all(web: Web) -> None:
    session = await web.start()
    csrf = str(session["csrf"])
    for _ in range(2):
        await web.send(csrf, "once-key-0001", kind="text", text="/help", language="zh-CN")
    too_long = await web.send(csrf, "once-key-0002", kind="text", text="灯" * 50000)
    assert too_long.status_code == 422 or too_long.status_code == 413
    # A photo no flow took (nobody is reporting): refused, not kept, not shown.
    refused = await web.client.post(
        "/api/photo",
        files={"file": PNG_FILE},
        data={"key": "once-key-0003"},
        headers={CSRF_HEADER: csrf},
    )
    assert refused.status_code == 200 and refused.json()["photo"] is None
    assert [(m.kind, m.text) for m in await own_rows(web)] == [("command", "/help")]


async def test_a_kept_photo_shows_on_every_device_until_its_file_goes(
    web: Web, tmp_path: Path
) -> None:
    session = await web.as_demo("zhang-ayi")
    csrf = str(session["csrf"])
    await web.send(csrf, "photo-key-0001", kind="text", text="楼道灯坏了")
    sent = await web.client.post(
        "/api/photo",
        files={"file": PNG_FILE},
        data={"key": "photo-key-0002"},
        headers={CSRF_HEADER: csrf},
    )
    name = sent.json()["photo"]
    assert name
    async with device(web, "zhang-ayi") as (other, _):
        page = (await other.get("/api/messages")).json()
        photo = next(m for m in page["mine"] if m["kind"] == "photo")
        assert photo["photo"] == {"url": f"/api/photos/{name}"}
        served = await other.get(photo["photo"]["url"])
        assert served.status_code == 200 and served.content == JPEG
    async with device(web, "li-shushu") as (stranger, _):  # not theirs: no such photo
        assert (await stranger.get(f"/api/photos/{name}")).status_code == 404
    (tmp_path / "uploads" / name).unlink()  # the draft was dropped and the file swept
    page = (await web.client.get("/api/messages")).json()
    assert next(m for m in page["mine"] if m["kind"] == "photo")["photo"] == {"expired": True}


async def test_replay_after_cursors_returns_only_later_own_messages(web: Web) -> None:
    session = await web.as_demo("zhang-ayi")
    csrf = str(session["csrf"])
    await web.send(csrf, "replay-key-0001", kind="text", text="/my")
    page = (await web.client.get("/api/messages")).json()
    last, last_mine = page["messages"][-1]["id"], page["mine"][-1]["id"]
    await web.send(csrf, "replay-key-0002", kind="text", text="/help")
    later = await web.client.get("/api/messages", params={"after": last, "mine_after": last_mine})
    assert [m["text"] for m in later.json()["mine"]] == ["/help"]
    assert later.json()["messages"] and later.json()["more"] is False


async def test_the_event_stream_carries_own_messages_in_order(web: Web) -> None:
    session = await web.as_demo("zhang-ayi")
    csrf = str(session["csrf"])
    await web.send(csrf, "stream-key-0001", kind="text", text="/my")
    async with web.db.sessions() as db:
        count = await db.scalar(select(func.count()).select_from(WebOwnMessage))
    assert count == 1
    events = await read_events(web, lambda kind, data: kind == "message")
    assert [kind for kind, _, _ in events][:2] == ["mine", "message"]
    assert events[0][1]["text"] == "/my"
    # Each event's id holds both cursors: a reconnecting page resumes after both.
    resumed = await read_events(
        web, lambda kind, data: True, last_event_id=events[-1][2], send=("stream-key-0002", "/help")
    )
    assert resumed[0][0] == "mine" and resumed[0][1]["text"] == "/help"


async def read_events(
    web: Web,
    done: Any,
    *,
    last_event_id: str = "",
    send: tuple[str, str] | None = None,
) -> list[tuple[str, dict[str, Any], str]]:
    """Open /api/events (resuming after `last_event_id`), send `send` once it listens, and
    collect (event, data, id) until `done(event, data)`."""
    events: list[tuple[str, dict[str, Any], str]] = []
    headers = [
        (b"host", b"testserver"),
        (b"cookie", f"{COOKIE}={web.client.cookies[COOKIE]}".encode()),
    ]
    if last_event_id:
        headers.append((b"last-event-id", last_event_id.encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/events",
        "raw_path": b"/api/events",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
        "headers": headers,
    }
    closed = web.hub.closing

    async def receive() -> dict[str, Any]:
        await closed.wait()
        return {"type": "http.disconnect"}

    async def on_send(message: dict[str, Any]) -> None:
        chunk = message.get("body", b"").decode()
        if chunk.startswith("retry:") and send is not None:
            key, text = send
            csrf = (await web.client.get("/api/session")).json()["csrf"]
            await web.send(csrf, key, kind="text", text=text)
        for block in chunk.split("\n\n"):
            if not block.startswith("id:"):
                continue
            lines = dict(line.partition(": ")[::2] for line in block.splitlines())
            data = json.loads(lines["data"])
            events.append((lines["event"], data, lines["id"]))
            if done(lines["event"], data):
                web.hub.close()

    await web.app(scope, receive, on_send)
    closed.clear()
    return events
