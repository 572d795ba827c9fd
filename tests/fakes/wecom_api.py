"""A fake WeCom API server on 127.0.0.1 (real HTTP) that the channel's client talks to.

It issues access tokens (`/cgi-bin/gettoken`; `expire_token` makes the current one refused
with 42001 until a new one is fetched), keeps what was sent per member (`message/send`: text,
image, file, template_card; a card without a title or subtitle, or without one to six
buttons, is refused with 40058), updates cards (`message/update_template_card`, one use per
response code; a new card's `replace_text`, or `button.replace_name`, greys its buttons),
stores uploads (`media/upload`) and serves media (`media/get`), and takes group-robot posts
(`webhook/send`). Like WeCom it drops, silently, messages past 30 a minute and 1,000 an hour
per member, and a duplicate within the interval when asked to check; a robot refuses (45009)
past 20 a minute. Members outside the app's visible range are refused (81013). `fail`
scripts errcodes for the next calls of a path.

    api = FakeWecomAPI(now=clock); await api.start()
    api.members.add("zhangsan")
    api.fail("message/send", -1, times=2)   # busy twice, then served
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

CORP_ID = "wwredgrid0000test"
AGENT_ID = 1000002
SECRET = "fake-wecom-secret"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60
PER_MINUTE, PER_HOUR, ROBOT_PER_MINUTE = 30, 1000, 20


@dataclass
class Failure:
    path: str
    code: int
    times: int = 1


@dataclass
class Card:
    """A card as one member sees it: the card as sent, then as updated."""

    userid: str
    task_id: str
    card: dict[str, Any]
    codes: set[str] = field(default_factory=set)
    replaced: str = ""  # the greyed text in place of the buttons
    updates: int = 0

    @property
    def buttons(self) -> list[str]:
        if self.replaced:
            return []
        return [button["text"] for button in self.card.get("button_list", [])]

    @property
    def title(self) -> str:
        return str(self.card.get("main_title", {}).get("title", ""))

    @property
    def text(self) -> str:
        main = self.card.get("main_title", {})
        parts = [main.get("title", ""), main.get("desc", ""), self.card.get("sub_title_text", "")]
        return "\n".join(p for p in parts if p)

    def key_of(self, label: str) -> str:
        for button in self.card.get("button_list", []):
            if button["text"] == label:
                return str(button["key"])
        raise AssertionError(f"no button {label!r} on {self.buttons}")


@dataclass
class FakeWecomAPI:
    """The fake; `sent[userid]` holds what reached each member, in order, with `at`."""

    port: int = 0
    now: Any = None  # a clock; defaults to the real time
    members: set[str] = field(default_factory=set)
    sent: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    dropped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    duplicates: int = 0
    cards: dict[str, Card] = field(default_factory=dict)
    robots: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    robot_keys: set[str] = field(default_factory=set)
    uploads: dict[str, bytes] = field(default_factory=dict)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    token_fetches: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self.token = ""
        self._failures: list[Failure] = []
        self._runner: web.AppRunner | None = None
        self._robot_times: dict[str, list[datetime]] = defaultdict(list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _now(self) -> datetime:
        return self.now() if self.now is not None else datetime.now(UTC)

    # --- the test's controls ---------------------------------------------------------------
    def fail(self, path: str, code: int, *, times: int = 1) -> None:
        self._failures.append(Failure(path, code, times))

    def expire_token(self) -> None:
        self.token = "expired"

    def add_media(self, media_id: str, content: bytes, content_type: str) -> None:
        self.media[media_id] = (content, content_type)

    def click_code(self, task_id: str) -> str:
        """A click on the card: WeCom hands the callback a new code for it."""
        code = f"rc{next(self._ids)}"
        self.cards[task_id].codes.add(code)
        return code

    def cards_of(self, userid: str) -> list[Card]:
        return [self.cards[m["template_card"]["task_id"]] for m in self.sent[userid] if _card(m)]

    def texts(self, userid: str) -> list[str]:
        """Texts and cards' texts that reached the member, in order."""
        out = []
        for message in self.sent[userid]:
            if message["msgtype"] == "text":
                out.append(message["text"]["content"])
            elif _card(message):
                out.append(self.cards[message["template_card"]["task_id"]].text)
        return out

    def most_in(self, userid: str, span: timedelta) -> int:
        """The most messages the member got within any `span`."""
        return _most_in(sorted(m["at"] for m in self.sent[userid]), span)

    def robot_most_in(self, key: str, span: timedelta) -> int:
        """The most posts a robot took within any `span`."""
        return _most_in(sorted(p["at"] for p in self.robots[key]), span)

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
            self.calls[-1] += f" -> {failure.code}"
            return _error(failure.code)
        if path == "gettoken":
            return self._issue_token(request.query)
        if path == "webhook/send":
            return self._robot(request.query.get("key", ""), await _body(request))
        token = request.query.get("access_token")
        if token == "expired" or token != self.token:
            return _error(42001 if token == "expired" else 40014)
        if path == "media/upload":
            return await self._upload(request)
        if path == "media/get":
            return self._media(request.query.get("media_id", ""))
        body = await _body(request)
        if path == "message/send":
            return self._send(body)
        if path == "message/update_template_card":
            return self._update(body)
        return _error(48002)

    def _issue_token(self, query: Any) -> web.Response:
        if query.get("corpid") != CORP_ID or query.get("corpsecret") != SECRET:
            return _error(40001)
        if not self.token or self.token == "expired":
            self.token = f"WTOKEN{next(self._ids)}"
            self.token_fetches += 1
        return web.json_response({"errcode": 0, "access_token": self.token, "expires_in": 7200})

    def _send(self, body: dict[str, Any]) -> web.Response:
        userid = str(body.get("touser", ""))
        if body.get("agentid") != AGENT_ID:
            return _error(40056)
        if userid not in self.members:
            return _error(81013)
        now = self._now()
        msgid = f"msg{next(self._ids)}"
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": msgid}
        if _card(body):
            if not _well_formed(body["template_card"]):
                return _error(40058)
            task_id = body["template_card"]["task_id"]
            if task_id in self.cards:
                return _error(40117)  # a task id is unique in the app
            code = f"rc{next(self._ids)}"
            self.cards[task_id] = Card(userid, task_id, body["template_card"], {code})
            answer["response_code"] = code
        if self._over_limits(userid, now) or self._duplicate(userid, body, now):
            return web.json_response(answer)  # accepted, and never shown: as WeCom does
        self.sent[userid].append({**body, "at": now})
        return web.json_response(answer)

    def _over_limits(self, userid: str, now: datetime) -> bool:
        times = [m["at"] for m in self.sent[userid]]
        minute = sum(1 for at in times if at > now - timedelta(minutes=1))
        hour = sum(1 for at in times if at > now - timedelta(hours=1))
        if minute >= PER_MINUTE or hour >= PER_HOUR:
            self.dropped[userid] += 1
            return True
        return False

    def _duplicate(self, userid: str, body: dict[str, Any], now: datetime) -> bool:
        if not body.get("enable_duplicate_check"):
            return False
        window = timedelta(seconds=int(body.get("duplicate_check_interval", 1800)))
        content = json.dumps(body.get(body["msgtype"]), sort_keys=True)
        for earlier in self.sent[userid]:
            same = json.dumps(earlier.get(earlier["msgtype"]), sort_keys=True) == content
            if same and earlier["at"] > now - window and not _card(body):
                self.duplicates += 1
                return True
        return False

    def _update(self, body: dict[str, Any]) -> web.Response:
        code = str(body.get("response_code", ""))
        card = next((c for c in self.cards.values() if code in c.codes), None)
        if card is None or body.get("userids") != [card.userid]:
            return _error(40035)
        card.codes.discard(code)
        card.updates += 1
        if "template_card" in body:
            new = body["template_card"]
            if not _well_formed(new):
                return _error(40058)
            card.card, card.replaced = new, str(new.get("replace_text") or "")
        else:
            card.replaced = str(body["button"]["replace_name"])
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        media = form.get("media")
        content = media.file.read() if hasattr(media, "file") else b""
        media_id = f"up{next(self._ids)}"
        self.uploads[media_id] = content
        return web.json_response({"errcode": 0, "type": "image", "media_id": media_id})

    def _media(self, media_id: str) -> web.StreamResponse:
        if media_id not in self.media:
            return _error(40007)
        content, content_type = self.media[media_id]
        return web.Response(body=content, content_type=content_type)

    def _robot(self, key: str, body: dict[str, Any]) -> web.Response:
        if key not in self.robot_keys:
            return _error(93000)
        now = self._now()
        recent = [at for at in self._robot_times[key] if at > now - timedelta(minutes=1)]
        if len(recent) >= ROBOT_PER_MINUTE:
            return _error(45009)
        self._robot_times[key] = [*recent, now]
        self.robots[key].append({**body, "at": now})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def _most_in(times: list[datetime], span: timedelta) -> int:
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - span:
            start += 1
        most = max(most, end - start + 1)
    return most


def _well_formed(card: dict[str, Any]) -> bool:
    """A button_interaction card as WeCom requires it: a title or a subtitle, one to six
    buttons."""
    text = card.get("main_title", {}).get("title") or card.get("sub_title_text")
    return bool(text) and 1 <= len(card.get("button_list") or []) <= 6


def _card(message: dict[str, Any]) -> bool:
    return message.get("msgtype") == "template_card"


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    return json.loads(raw) if raw else {}  # type: ignore[no-any-return]


def _error(code: int) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": f"fake error {code}"})
