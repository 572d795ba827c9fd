"""A fake WeChat API server on 127.0.0.1 (real HTTP) that the channel's client talks to.

It issues access tokens (`/cgi-bin/token`, `/cgi-bin/stable_token`; a new one invalidates the
old), keeps what was sent per openid (customer-service messages, template messages), the
menu, QR codes, and serves media. It enforces WeChat's window and quota per openid when the
test tells it a resident wrote (`wrote`), and can be told to fail calls with an errcode or a
stall longer than the client's timeout.

    api = FakeWechatAPI(); await api.start()
    api.fail("message/custom/send", 45009)   # the next call answers errcode 45009
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

APP_ID = "wx49f0ab532d5d035a"
APP_SECRET = "fake-app-secret"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
AMR = b"#!AMR\n" + b"\x00" * 60


@dataclass
class Failure:
    """A scripted answer for the next `times` calls of an API path."""

    path: str
    code: int
    times: int = 1
    stall: float = 0.0  # seconds to wait before answering (longer than the client's timeout)


@dataclass
class Window:
    until: datetime
    quota: int


@dataclass
class FakeWechatAPI:
    """The fake; `sent[openid]` holds the messages in order, as dicts with a `type`."""

    quota_per_message: int = 5
    window: timedelta = timedelta(hours=48)
    enforce_window: bool = True
    port: int = 0
    sent: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    templates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    menu: dict[str, Any] | None = None
    qrcodes: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    token_fetches: int = 0
    now: Any = None  # a clock; defaults to the real time

    def __post_init__(self) -> None:
        self._tokens = itertools.count(1)
        self.token = ""
        self._failures: list[Failure] = []
        self._windows: dict[str, Window] = {}
        self._followers: set[str] = set()
        self._seen_client_ids: set[tuple[str, str]] = set()
        self._runner: web.AppRunner | None = None
        self.media: dict[str, tuple[bytes, str]] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _now(self) -> datetime:
        return self.now() if self.now is not None else datetime.now(UTC)

    # --- the test's controls ---------------------------------------------------------------
    def fail(self, path: str, code: int, *, times: int = 1, stall: float = 0.0) -> None:
        self._failures.append(Failure(path, code, times, stall))

    def wrote(self, openid: str, *, event: bool = False) -> None:
        """The resident wrote (or clicked, followed, scanned): their window opens."""
        self._followers.add(openid)
        quota = 3 if event else self.quota_per_message
        until = self._now() + (timedelta(minutes=1) if event else self.window)
        self._windows[openid] = Window(until, quota)

    def unfollow(self, openid: str) -> None:
        self._followers.discard(openid)

    def close_window(self, openid: str) -> None:
        self._windows.pop(openid, None)

    def expire_token(self) -> None:
        self.token = "expired"

    def add_media(self, media_id: str, content: bytes, content_type: str) -> None:
        self.media[media_id] = (content, content_type)

    def texts(self, openid: str) -> list[str]:
        """What reached the resident by the API: texts and menu messages' heads."""
        out = []
        for message in self.sent[openid]:
            if message["msgtype"] == "text":
                out.append(message["text"]["content"])
            elif message["msgtype"] == "msgmenu":
                out.append(message["msgmenu"]["head_content"])
        return out

    # --- the server -----------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/cgi-bin/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.calls.append(path)
        failure = next((f for f in self._failures if f.path == path and f.times > 0), None)
        if failure is not None:
            failure.times -= 1
            if failure.stall:
                await asyncio.sleep(failure.stall)
            self.calls[-1] += f" -> {failure.code}"
            return _error(failure.code)
        if path in ("token", "stable_token"):
            return self._issue_token(path, await _body(request))
        if request.query.get("access_token") != self.token:
            return _error(40001)
        body = await _body(request)
        handler = {
            "message/custom/send": self._custom,
            "message/template/send": self._template,
            "menu/create": self._menu,
            "qrcode/create": self._qrcode,
        }.get(path)
        if path == "media/get":
            return self._media(request.query.get("media_id", ""))
        if handler is None:
            return _error(48001)
        return handler(body)

    def _issue_token(self, path: str, body: dict[str, Any]) -> web.Response:
        if body.get("appid", APP_ID) != APP_ID or body.get("secret", APP_SECRET) != APP_SECRET:
            return _error(40013)
        if (
            path == "token"
            or body.get("force_refresh")
            or not self.token
            or self.token == "expired"
        ):
            self.token = f"TOKEN{next(self._tokens)}"
            self.token_fetches += 1
        return web.json_response({"access_token": self.token, "expires_in": 7200})

    def _custom(self, body: dict[str, Any]) -> web.Response:
        openid = body["touser"]
        if self.enforce_window:
            if openid not in self._followers:
                return _error(43004)
            window = self._windows.get(openid)
            if window is None or window.until <= self._now():
                return _error(45015)
            if window.quota <= 0:
                return _error(45047)
            window.quota -= 1
        self.sent[openid].append(body)
        return _ok()

    def _template(self, body: dict[str, Any]) -> web.Response:
        openid = body["touser"]
        if self.enforce_window and openid not in self._followers:
            return _error(43004)
        key = (openid, body.get("client_msg_id", ""))
        if key[1] and key in self._seen_client_ids:
            return _ok()  # WeChat drops a resend with the same client_msg_id
        self._seen_client_ids.add(key)
        self.templates[openid].append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 1})

    def _menu(self, body: dict[str, Any]) -> web.Response:
        self.menu = body
        return _ok()

    def _qrcode(self, body: dict[str, Any]) -> web.Response:
        self.qrcodes.append(body)
        ticket = f"ticket{len(self.qrcodes)}"
        url = f"http://weixin.qq.com/q/{ticket}"
        return web.json_response({"ticket": ticket, "url": url})

    def _media(self, media_id: str) -> web.StreamResponse:
        if media_id not in self.media:
            return _error(40007)
        content, content_type = self.media[media_id]
        return web.Response(body=content, content_type=content_type)


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return dict(request.query)
    return json.loads(raw)  # type: ignore[no-any-return]


def _ok() -> web.Response:
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def _error(code: int) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": f"fake error {code}"})
