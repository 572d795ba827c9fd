"""A fake Telegram Bot API server on 127.0.0.1 that the real frameworks talk to over HTTP.

It keeps what a bot sent per chat (parsed as Telegram would: HTML entities checked and turned
into plain text), serves updates by `getUpdates` or by POSTing them to a webhook (with the
secret header, one at a time per chat, retrying non-2xx answers), and can be told to fail calls
(429 with retry_after, 403 blocked, 400, 5xx, stalls longer than the client's timeout), or to
enforce Telegram's flood limits. It honours `allowed_updates` as Telegram does, lets a person
block the bot and allow it again (my_chat_member), and shows each chat's command menu.

    api = FakeBotAPI(); await api.start()
    user = api.user(42)
    sent = await user.send("/start")         # waits until the bot confirmed the update
    sent = await user.press("和顺社区")       # a button of the newest keyboard in that chat
    await user.block_bot(); api.menu(user.chat_id)
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "scope",
    "allowed_updates",
    "entities",
    "caption_entities",
    "link_preview_options",
    "reply_parameters",
    "media",
}
INT_FIELDS = {"offset", "limit", "timeout", "message_id", "cache_time"}
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


@dataclass
class Rule:
    """A scripted failure for the next `times` calls of `method` (to `chat_id`, if given)."""

    method: str
    status: int = 500
    description: str = "Internal Server Error"
    retry_after: int | None = None
    times: int = 1
    chat_id: str | None = None
    delay: float = 0.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)  # when the call arrived


@dataclass
class Webhook:
    url: str = ""
    secret: str | None = None
    last_error: str = ""
    deliveries: list[tuple[int, int]] = field(default_factory=list)  # (update_id, status)


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode: refuse unsupported tags and stray '<', return plain text."""
    position = 0
    plain: list[str] = []
    for match in _TAG.finditer(text):
        chunk = text[position : match.start()]
        if "<" in chunk:
            raise ApiError(400, "Bad Request: can't parse entities: unexpected '<'")
        plain.append(chunk)
        if match.group(2).lower() not in ALLOWED_TAGS:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{match.group(2)}"',
            )
        position = match.end()
    rest = text[position:]
    if "<" in rest:
        raise ApiError(400, "Bad Request: can't parse entities: unexpected '<'")
    plain.append(rest)
    return html.unescape("".join(plain))


class FloodLimits:
    """Telegram's flood control for sends: at most `per_second` messages in any one-second
    window for the whole bot and `per_chat_per_second` per chat; over that, 429 with
    retry_after. `too_many` counts the 429s answered."""

    METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendmediagroup"})

    def __init__(self, per_second: float, per_chat_per_second: float) -> None:
        self.per_second = per_second
        self.chat_gap = 1.0 / per_chat_per_second
        self.window: deque[float] = deque()
        self.last_in_chat: dict[str, float] = {}
        self.too_many = 0

    def check(self, chat_id: str) -> None:
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if (
            len(self.window) >= self.per_second
            or now - self.last_in_chat.get(chat_id, -1e9) < self.chat_gap
        ):
            self.too_many += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        self.window.append(now)
        self.last_in_chat[chat_id] = now


# Telegram's default when allowed_updates was never given: every update type but these.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def update_type(update: dict[str, Any]) -> str:
    """The update's type: its one key besides update_id."""
    return next(key for key in update if key != "update_id")


_servers = itertools.count(1)


class FakeBotAPI:
    """The fake server; see the module docstring."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        retry_delay: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.clock = clock  # what a call's `at` is read from (a test's clock, in seconds)
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "红网格",
            "username": "redgrid_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.retry_delay = retry_delay
        self.calls: list[Call] = []
        self.counts: Counter[str] = Counter()  # successful calls per method
        self.rules: list[Rule] = []
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.markups: dict[tuple[str, int], Any] = {}  # any reply_markup sent, by message
        self.files: dict[str, bytes] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook = Webhook()
        self.pending: list[dict[str, Any]] = []
        self.confirmed: set[int] = set()
        self._events: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        # Each server hands out its own range of update ids, like separate Telegram bots, so
        # several servers in one test database never collide in the processed-update table.
        self._update_ids = itertools.count(next(_servers) * 10_000_000)
        self._message_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._busy_chats: set[str] = set()
        self._posts: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        self.port = 0
        self.flood: FloodLimits | None = None
        # The last allowed_updates given to getUpdates or setWebhook stays in force, as on
        # Telegram; updates of other types are never queued (`dropped` keeps them).
        self.allowed_updates: list[str] | None = None
        self.dropped: list[dict[str, Any]] = []
        self._polling = 0  # getUpdates calls in progress
        self.poll_conflicts = 0  # getUpdates calls made while another was in progress

    # --- server ---------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        await self._stop_delivery()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        file_id = f"upload-{next(self._ids)}"
                        self.files[file_id] = value.file.read()
                        params[key] = {"uploaded": file_id, "filename": value.filename}
                    else:
                        params[key] = value
        for key in list(params):
            if key in JSON_FIELDS and isinstance(params[key], str):
                params[key] = json.loads(params[key])
            elif key in INT_FIELDS and isinstance(params[key], str):
                params[key] = int(params[key])
        # aiogram sends uploads as attach://<name> references to multipart fields
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value[len("attach://") :], value)
        return params

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params, at=self.clock())
        self.calls.append(call)
        try:
            await self._scripted(method, params)
            if self.flood is not None and method.lower() in FloodLimits.METHODS:
                self.flood.check(str(params.get("chat_id")))
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params)
            self.counts[method] += 1
        except ApiError as error:
            call.status = error.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            return web.json_response(body, status=error.status)
        return web.json_response({"ok": True, "result": result})

    async def _scripted(self, method: str, params: dict[str, Any]) -> None:
        for rule in self.rules:
            if rule.times <= 0 or rule.method.lower() != method.lower():
                continue
            if rule.chat_id is not None and str(params.get("chat_id")) != rule.chat_id:
                continue
            rule.times -= 1
            if rule.delay:
                await asyncio.sleep(rule.delay)
            raise ApiError(rule.status, rule.description, rule.retry_after)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].rsplit("/", 1)[-1]
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])

    # --- scripting --------------------------------------------------------------------------------
    def fail(self, method: str, **rule: Any) -> Rule:
        """Fail the next call(s) of `method`; see `Rule`."""
        if "chat_id" in rule and rule["chat_id"] is not None:
            rule["chat_id"] = str(rule["chat_id"])
        added = Rule(method, **rule)
        self.rules.append(added)
        return added

    def block(self, chat_id: str | int, method: str = "sendMessage") -> Rule:
        """The person blocked the bot: every send to the chat answers 403."""
        return self.fail(
            method,
            status=403,
            description="Forbidden: bot was blocked by the user",
            times=10**6,
            chat_id=str(chat_id),
        )

    def flood_limits(self, *, per_second: float, per_chat_per_second: float = 1.0) -> FloodLimits:
        """Answer 429 (with retry_after) to sends over these limits, as Telegram does."""
        self.flood = FloodLimits(per_second, per_chat_per_second)
        return self.flood

    def menu(self, chat_id: str | int | None = None, language_code: str = "") -> list[str] | None:
        """The command names set for one chat's scope (None: none set, the default applies),
        or for the default scope when no chat is given."""
        scope: dict[str, Any] = {"type": "default"}
        if chat_id is not None:
            scope = {"chat_id": int(chat_id), "type": "chat"}
        commands = self.commands.get((json.dumps(scope, sort_keys=True), language_code))
        return None if commands is None else [c["command"] for c in commands]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    # --- updates ---------------------------------------------------------------------------
    def wanted(self, update: dict[str, Any]) -> bool:
        """Whether Telegram would queue this update for the bot now."""
        kind = update_type(update)
        if not self.allowed_updates:
            return kind not in NOT_BY_DEFAULT
        return kind in self.allowed_updates

    async def push(self, payload: dict[str, Any], *, update_id: int | None = None) -> int:
        """Queue an update (a fresh id unless given); returns its id. An update of a type the
        bot did not ask for is never made (kept in `dropped`, counted as confirmed)."""
        if not self.wanted(payload):
            dropped = {"update_id": update_id or next(self._update_ids), **payload}
            self.dropped.append(dropped)
            self._confirm(int(dropped["update_id"]))
            return int(dropped["update_id"])
        update = {"update_id": update_id or next(self._update_ids), **payload}
        self.confirmed.discard(update["update_id"])
        self._events[update["update_id"]].clear()
        async with self._arrived:
            self.pending.append(update)
            self.pending.sort(key=lambda u: u["update_id"])
            self._arrived.notify_all()
        return int(update["update_id"])

    async def redeliver(self, update: dict[str, Any]) -> int:
        """Queue an update that was already delivered once, with the same update id."""
        payload = {k: v for k, v in update.items() if k != "update_id"}
        return await self.push(payload, update_id=update["update_id"])

    async def wait_confirmed(self, update_id: int, within: float = 20.0) -> None:
        await asyncio.wait_for(self._events[update_id].wait(), within)

    def _confirm(self, update_id: int) -> None:
        self.confirmed.add(update_id)
        self._events[update_id].set()

    def user(self, user_id: int, **kwargs: Any) -> FakeUser:
        return FakeUser(self, user_id, **kwargs)

    # --- Bot API methods -------------------------------------------------------------------
    async def _m_getme(self, _p: dict[str, Any]) -> Any:
        return self.bot_user

    def _note_allowed(self, p: dict[str, Any]) -> None:
        if p.get("allowed_updates") is not None:
            self.allowed_updates = [str(kind) for kind in p["allowed_updates"]]

    async def _m_getupdates(self, p: dict[str, Any]) -> Any:
        self._note_allowed(p)
        if self.webhook.url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if self._polling:  # as on Telegram: two pollers of one bot conflict
            self.poll_conflicts += 1
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        self._polling += 1
        try:
            return await self._updates(p)
        finally:
            self._polling -= 1

    async def _updates(self, p: dict[str, Any]) -> Any:
        offset, limit = p.get("offset"), int(p.get("limit") or 100)
        deadline = time.monotonic() + float(p.get("timeout") or 0)
        async with self._arrived:
            while True:
                if offset is not None:
                    for update in [u for u in self.pending if u["update_id"] < offset]:
                        self.pending.remove(update)
                        self._confirm(update["update_id"])
                ready = [u for u in self.pending if offset is None or u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready[:limit]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._arrived.wait(), remaining)

    async def _m_setwebhook(self, p: dict[str, Any]) -> Any:
        self._note_allowed(p)
        self.webhook.url = str(p.get("url") or "")
        self.webhook.secret = p.get("secret_token")
        self.webhook.last_error = ""
        await self._stop_delivery()
        if self.webhook.url:
            self._delivery = asyncio.create_task(self._deliver_loop())
        return True

    async def _m_deletewebhook(self, _p: dict[str, Any]) -> Any:
        self.webhook.url = ""
        await self._stop_delivery()
        return True

    async def _m_getwebhookinfo(self, _p: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.webhook.last_error:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = self.webhook.last_error
        return info

    def _message(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = str(p["chat_id"])
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "from": self.bot_user,
            "chat": _chat(chat_id),
            **content,
        }
        markup = p.get("reply_markup")
        if markup is not None:
            self.markups[(chat_id, message_id)] = markup
            if "inline_keyboard" in markup:
                message["reply_markup"] = markup
        self.messages[chat_id].append(message)
        return message

    def _text(self, p: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
        raw = str(p.get(key) or "")
        text = parse_html(raw) if str(p.get("parse_mode", "")).upper() == "HTML" else raw
        if len(text.encode("utf-16-le")) // 2 > limit:
            what = "message" if key == "text" else "message caption"
            raise ApiError(400, f"Bad Request: {what} is too long")
        return {"text" if key == "text" else "caption": text} if text else {}

    async def _m_sendmessage(self, p: dict[str, Any]) -> Any:
        content = self._text(p, "text", 4096)
        if not content:
            raise ApiError(400, "Bad Request: message text is empty")
        return self._message(p, **content)

    def _file_ref(self, value: Any, default_name: str) -> tuple[str, str]:
        if isinstance(value, dict) and "uploaded" in value:
            return value["uploaded"], value.get("filename") or default_name
        if str(value) not in self.files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return str(value), default_name

    async def _m_sendphoto(self, p: dict[str, Any]) -> Any:
        file_id, _ = self._file_ref(p.get("photo"), "photo.jpg")
        size = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "width": 800,
            "height": 600,
            "file_size": len(self.files[file_id]),
        }
        return self._message(p, photo=[size], **self._text(p, "caption", 1024))

    async def _m_sendmediagroup(self, p: dict[str, Any]) -> Any:
        """An album: one message per photo, sharing a media_group_id; 2 to 10 items."""
        media = p.get("media") or []
        if not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the album")
        group = str(next(self._ids))
        sent = []
        for item in media:
            ref = item.get("media") if isinstance(item, dict) else None
            if isinstance(ref, str) and ref.startswith("attach://"):
                ref = p.get(ref[len("attach://") :])
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise ApiError(400, "Bad Request: only photos are sent in albums here")
            file_id, _ = self._file_ref(ref, "photo.jpg")
            size = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 800,
                "height": 600,
                "file_size": len(self.files[file_id]),
            }
            sent.append(
                self._message({"chat_id": p["chat_id"]}, photo=[size], media_group_id=group)
            )
        return sent

    async def _m_senddocument(self, p: dict[str, Any]) -> Any:
        file_id, name = self._file_ref(p.get("document"), "file.bin")
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": len(self.files[file_id]),
        }
        return self._message(p, document=document, **self._text(p, "caption", 1024))

    def _find(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id, message_id = str(p.get("chat_id")), int(p.get("message_id") or 0)
        for message in self.messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _m_editmessagetext(self, p: dict[str, Any]) -> Any:
        message = self._find(p)
        content = self._text(p, "text", 4096)
        markup = p.get("reply_markup")
        if content.get("text") == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        message.update(content, edit_date=int(time.time()))
        _set_markup(message, markup)
        return message

    async def _m_editmessagereplymarkup(self, p: dict[str, Any]) -> Any:
        message = self._find(p)
        markup = p.get("reply_markup") or None
        if markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        _set_markup(message, markup)
        return message

    async def _m_answercallbackquery(self, _p: dict[str, Any]) -> Any:
        return True

    async def _m_setmycommands(self, p: dict[str, Any]) -> Any:
        scope = json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True)
        self.commands[(scope, str(p.get("language_code") or ""))] = list(p.get("commands") or [])
        return True

    async def _m_deletemycommands(self, p: dict[str, Any]) -> Any:
        scope = json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True)
        self.commands.pop((scope, str(p.get("language_code") or "")), None)
        return True

    async def _m_getfile(self, p: dict[str, Any]) -> Any:
        file_id = str(p.get("file_id"))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"files/{file_id}",
        }

    # --- webhook delivery -------------------------------------------------------------------------
    async def _stop_delivery(self) -> None:
        if self._delivery is not None:
            self._delivery.cancel()
            await asyncio.gather(self._delivery, return_exceptions=True)
            self._delivery = None
        for task in list(self._posts):
            task.cancel()
        await asyncio.gather(*self._posts, return_exceptions=True)
        self._busy_chats.clear()

    async def _deliver_loop(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        while True:
            async with self._arrived:
                for update in self.pending:
                    chat = _chat_of(update)
                    if chat not in self._busy_chats:
                        self._busy_chats.add(chat)
                        task = asyncio.create_task(self._post_chat(chat))
                        self._posts.add(task)
                        task.add_done_callback(self._posts.discard)
                await self._arrived.wait()

    async def _post_chat(self, chat: str) -> None:
        """Deliver this chat's pending updates one at a time, retrying each until 2xx."""
        assert self._http is not None
        try:
            while True:
                update = next((u for u in self.pending if _chat_of(u) == chat), None)
                if update is None:
                    return
                headers = {"Content-Type": "application/json"}
                if self.webhook.secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret
                try:
                    async with self._http.post(
                        self.webhook.url,
                        data=json.dumps(update),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=30),
                    ) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = 0
                    self.webhook.last_error = f"Connection failed: {exc}"
                self.webhook.deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    if update in self.pending:
                        self.pending.remove(update)
                    self._confirm(update["update_id"])
                else:
                    if status:
                        self.webhook.last_error = f"Wrong response from the webhook: {status}"
                    await asyncio.sleep(self.retry_delay)
        finally:
            self._busy_chats.discard(chat)
            async with self._arrived:
                self._arrived.notify_all()


def _set_markup(message: dict[str, Any], markup: Any) -> None:
    if markup and "inline_keyboard" in markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


def _chat(chat_id: str) -> dict[str, Any]:
    number = int(chat_id)
    if number < 0:
        return {"id": number, "type": "group", "title": "group"}
    return {"id": number, "type": "private", "first_name": "居民"}


def _chat_of(update: dict[str, Any]) -> str:
    message = (
        update.get("message")
        or (update.get("callback_query") or {}).get("message")
        or update.get("my_chat_member")  # a person blocking the bot: their chat's lane
        or {}
    )
    return str(message.get("chat", {}).get("id", update["update_id"]))


class FakeUser:
    """One Telegram user writing to the bot in a private chat."""

    def __init__(
        self,
        api: FakeBotAPI,
        user_id: int,
        *,
        first_name: str = "居民",
        language_code: str | None = "zh",
        chat_id: int | None = None,
    ) -> None:
        self.api = api
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            self.user["language_code"] = language_code
        self.chat_id = str(chat_id or user_id)
        self.last_update: dict[str, Any] = {}
        self._seen = 0
        self._blocked: Rule | None = None
        self.actions = 0  # messages sent and buttons pressed (like TestChat.actions)
        self.last_album = ""  # the media_group_id of the album sent last
        self.album_updates: list[dict[str, Any]] = []  # every album photo's update sent

    # --- blocking the bot ------------------------------------------------------------------------
    async def _membership(self, old: str, new: str, wait: bool) -> list[dict[str, Any]]:
        def member(status: str) -> dict[str, Any]:
            banned = {"until_date": 0} if status == "kicked" else {}  # 0: forever
            return {"user": self.api.bot_user, "status": status, **banned}

        update = {
            "chat": _chat(self.chat_id) | {"first_name": self.user["first_name"]},
            "from": self.user,
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return await self._deliver({"my_chat_member": update}, wait)

    async def block_bot(self, *, wait: bool = True) -> list[dict[str, Any]]:
        """The person blocks the bot: sends to their chat answer 403 from now on, and the bot
        gets a my_chat_member update (new status "kicked")."""
        self._blocked = self.api.block(self.chat_id)
        return await self._membership("member", "kicked", wait)

    async def unblock_bot(self, *, wait: bool = True) -> list[dict[str, Any]]:
        """The person allows the bot again (new status "member")."""
        if self._blocked is not None:
            self._blocked.times = 0
            self._blocked = None
        return await self._membership("kicked", "member", wait)

    # --- reading --------------------------------------------------------------------------------
    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.api.messages[self.chat_id]

    @property
    def new_messages(self) -> list[dict[str, Any]]:
        """What arrived since the last update this user sent."""
        return self.messages[self._seen :]

    @property
    def texts(self) -> list[str]:
        """Texts that arrived since the last update this user sent (like TestChat.texts)."""
        return texts(self.new_messages)

    @property
    def last_text(self) -> str:
        return texts(self.messages[-1:])[0] if self.messages else ""

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline keyboard on the newest message that has one."""
        for message in reversed(self.messages):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard")
            if rows:
                return [b["text"] for row in rows for b in row]
        return []

    # --- writing --------------------------------------------------------------------------------
    async def _deliver(self, payload: dict[str, Any], wait: bool) -> list[dict[str, Any]]:
        seen = self._seen = len(self.messages)
        self.actions += 1
        update_id = await self.api.push(payload)
        self.last_update = {"update_id": update_id, **payload}
        if wait:
            await self.api.wait_confirmed(update_id)
        return self.messages[seen:]

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self.api._message_ids),
            "date": int(time.time()),
            "chat": _chat(self.chat_id) | {"first_name": self.user["first_name"]},
            "from": self.user,
            **content,
        }

    async def send(self, text: str, *, wait: bool = True) -> list[dict[str, Any]]:
        """Type a message (a leading slash makes it a command, as in the Telegram client)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self._deliver({"message": self._message(**content)}, wait)

    async def press(self, label: str, *, wait: bool = True) -> list[dict[str, Any]]:
        """Press the button with this label on the newest message that has a keyboard."""
        for message in reversed(self.messages):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard")
            if not rows:
                continue
            for row in rows:
                for button in row:
                    if button["text"] == label:
                        query = {
                            "id": str(next(self.api._ids)),
                            "from": self.user,
                            "message": message,
                            "chat_instance": "1",
                            "data": button["callback_data"],
                        }
                        return await self._deliver({"callback_query": query}, wait)
            break
        raise AssertionError(f"no button {label!r}; buttons: {self.buttons}")

    async def press_data(
        self, data: str, *, message_id: int | None = None, wait: bool = True
    ) -> list[dict[str, Any]]:
        """Press a button carrying `data` (forged or stale data too) on the message with
        `message_id`, else on the newest message."""
        message = next(
            (m for m in reversed(self.messages) if message_id in (None, m["message_id"])), None
        )
        assert message is not None, f"no message {message_id} in chat {self.chat_id}"
        query = {
            "id": str(next(self.api._ids)),
            "from": self.user,
            "message": message,
            "chat_instance": "1",
            "data": data,
        }
        return await self._deliver({"callback_query": query}, wait)

    async def share_location(self, latitude: float, longitude: float) -> list[dict[str, Any]]:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._deliver({"message": self._message(location=location)}, True)

    async def share_contact(
        self, phone: str, *, user_id: int | None = None
    ) -> list[dict[str, Any]]:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": user_id or self.user["id"],
        }
        return await self._deliver({"message": self._message(contact=contact)}, True)

    async def send_photo(self, caption: str = "", *, size: int = 2048) -> list[dict[str, Any]]:
        """A photo in three sizes (Telegram sends several); the largest has `size` bytes."""
        sizes = []
        for n, (w, s) in enumerate(((90, size // 16), (320, size // 4), (1280, size))):
            file_id = f"photo-{next(self.api._ids)}-{n}"
            self.api.files[file_id] = b"\xff\xd8" + b"x" * max(0, s - 2)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "width": w,
                    "height": w,
                    "file_size": s,
                }
            )
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return await self._deliver({"message": self._message(**content)}, True)

    async def send_album(
        self, count: int = 3, caption: str = "", *, group: str | None = None, first: int = 0
    ) -> list[dict[str, Any]]:
        """Photos picked together: Telegram delivers one message per photo, sharing a
        media_group_id (the caption, if any, on the first), one right after another. `group`
        and `first`: more photos of an album begun before (its photos `first`, `first`+1...)."""
        seen = self._seen = len(self.messages)
        group = group or str(next(self.api._ids))
        self.last_album = group
        ids = []
        for n in range(first, first + count):
            file_id = f"album-{group}-{n}"
            self.api.files[file_id] = b"\xff\xd8" + b"x" * 2046
            size = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 1280,
                "height": 1280,
                "file_size": 2048,
            }
            content: dict[str, Any] = {"photo": [size], "media_group_id": group}
            if caption and n == first:
                content["caption"] = caption
            self.actions += 1
            payload = {"message": self._message(**content)}
            ids.append(await self.api.push(payload))
            self.album_updates.append({"update_id": ids[-1], **payload})
        for update_id in ids:
            await self.api.wait_confirmed(update_id)
        return self.messages[seen:]

    async def send_voice(self, duration: int = 5) -> list[dict[str, Any]]:
        file_id = f"voice-{next(self.api._ids)}"
        self.api.files[file_id] = b"OggS"
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "duration": duration,
            "file_size": 4,
        }
        return await self._deliver({"message": self._message(voice=voice)}, True)

    async def send_document(self, name: str = "a.pdf", caption: str = "") -> list[dict[str, Any]]:
        file_id = f"doc-{next(self.api._ids)}"
        self.api.files[file_id] = b"%PDF"
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": name,
            "file_size": 4,
        }
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        return await self._deliver({"message": self._message(**content)}, True)

    async def send_sticker(self) -> list[dict[str, Any]]:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "us1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._deliver({"message": self._message(sticker=sticker)}, True)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    """The texts (or captions) of sent messages, as the person reads them."""
    return [m.get("text") or m.get("caption") or "" for m in messages]
