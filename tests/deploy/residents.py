"""Residents of the web chat as their page behaves, through the proxy: a session, messages each
with its own key (sent again with the same key when the answer does not come), and the live
stream, reconnected with Last-Event-ID whenever it ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.web.auth import CSRF_HEADER

# What the page does again: the proxy found no worker (502, 504), a worker shed the message
# (503) or the connection broke.
RETRY_STATUS = {502, 503, 504}

# The resident journey: a compound's QR link, the building, no phone, a report, submitted.
JOURNEY: list[tuple[str, str]] = [
    ("text", "/start c_haisheng-sunshine"),
    ("button", "17号楼"),
    ("button", "跳过"),
    ("text", "/help"),
    ("text", "楼道灯坏了好几天了"),
    ("button", "✅ 提交"),
    ("text", "/my"),
]


@dataclass
class Resident:
    client: httpx.AsyncClient
    name: str
    csrf: str = ""
    chat: str = ""
    keys: list[str] = field(default_factory=list)
    retries: int = 0
    statuses: list[str] = field(default_factory=list)
    streamed: list[int] = field(default_factory=list)
    cursor: str = ""  # the last event's id, sent back as Last-Event-ID on reconnecting
    reconnects: int = 0

    async def _post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST until a worker answers with something other than a retryable failure."""
        for _ in range(200):
            try:
                response = await self.client.post(path, **kwargs)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRY_STATUS:
                return response
            self.retries += 1
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name}: {path} never answered")

    async def start(self) -> None:
        response = await self._post("/api/session", headers={CSRF_HEADER: "new"})
        assert response.status_code == 200, response.text
        self.csrf, self.chat = response.json()["csrf"], response.json()["chat"]

    async def send(self, kind: str, value: str) -> None:
        key = f"{self.name}-{len(self.keys):04d}"
        self.keys.append(key)
        body: dict[str, Any] = {"key": key, "kind": kind, "language": "zh-CN"}
        if kind == "button":
            body["data"] = await self.button(value)
        else:
            body["text"] = value
        response = await self._post("/api/send", json=body, headers={CSRF_HEADER: self.csrf})
        assert response.status_code == 200, response.text
        self.statuses.append(response.json()["status"])

    async def _get(self, path: str, **params: Any) -> httpx.Response:
        for _ in range(200):
            try:
                response = await self.client.get(path, params=params)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code not in RETRY_STATUS:
                assert response.status_code == 200, response.text
                return response
            await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name}: {path} never answered")

    async def messages(self) -> list[dict[str, Any]]:
        """Every delivered message of the chat, oldest first, page by page."""
        rows: list[dict[str, Any]] = []
        while True:
            page = (await self._get("/api/messages", after=rows[-1]["id"] if rows else 0)).json()
            rows.extend(page["messages"])
            if not page["more"]:
                return rows

    async def button(self, label: str) -> str:
        for message in reversed(await self.messages()):
            for button_label, data in (b for row in message["buttons"] for b in row):
                if button_label == label:
                    return str(data)
        raise AssertionError(f"{self.name}: no button {label}")

    async def stream(self) -> None:
        """The page's EventSource: read events, reconnect from the last id when it ends."""
        while True:
            headers = {"Last-Event-ID": self.cursor} if self.cursor else {}
            with contextlib.suppress(httpx.TransportError):
                async with self.client.stream(
                    "GET", "/api/events", headers=headers, timeout=httpx.Timeout(5, read=None)
                ) as response:
                    if response.status_code == 200:
                        await self._read_events(response)
            self.reconnects += 1
            await asyncio.sleep(0.2)

    async def _read_events(self, response: httpx.Response) -> None:
        # An event's id is the stream's cursor: "<outbox row id>.<own message id>"; the bot's
        # messages are "message" events, the person's own (from another tab) "mine".
        cursor, kind = "", "message"
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                cursor = line[4:]
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and cursor:
                json.loads(line[6:])
                self.cursor = cursor
                if kind == "message":
                    self.streamed.append(int(cursor.split(".")[0]))
                cursor, kind = "", "message"


# The summary before submitting lists similar requests nearby: other residents' timing.
SIMILAR = "\n\n最近同一楼/小区已有人反映了类似问题"


def transcript(messages: list[dict[str, Any]]) -> list[str]:
    """The chat's texts with every number blanked (reference numbers, dates, times differ)
    and the list of similar requests left out."""
    return [re.sub(r"[0-9]+", "#", str(m["text"]).split(SIMILAR)[0]) for m in messages]
