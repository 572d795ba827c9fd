"""Plays WeChat's side of the callback: posts signed (and, in safe or compatible mode,
encrypted) XML pushes to the app over real HTTP, as WeChat does: an answer is awaited for
`attempt_timeout` seconds (5, as WeChat), then the push is tried again, three tries in all.

    driver = WechatDriver(url, mode="safe", api=fake_api, clock=clock)
    user = driver.user("o_resident_1")
    await user.send("漏水了"); user.texts; await user.press("和顺社区")

What a resident receives is one list per openid in `api.sent`: the callback's passive
replies (marked `passive`) and what the channel sent by the API, in order.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat.crypto import sign
from tests.fakes.wechat_api import APP_ID, FakeWechatAPI

TOKEN = "redgrid-callback-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
ACCOUNT = "gh_redgrid_test"
_msg_ids = itertools.count(7_000_000_000_000_000_000)
_nonces = itertools.count(100_000)
_CHOICE = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


@dataclass
class Delivery:
    """One push as WeChat saw it: each try's status, and the answer that ended it."""

    statuses: list[int | None] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # how long each try took
    body: str = ""
    passive: str | None = None  # the passive reply's text, decrypted

    @property
    def ok(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 200


class WechatDriver:
    """WeChat posting to one callback URL."""

    def __init__(
        self,
        url: str,
        *,
        api: FakeWechatAPI,
        clock: Callable[[], datetime],
        mode: str = "safe",
        token: str = TOKEN,
        aes_key: str = AES_KEY,
        attempt_timeout: float = 5.0,
        tries: int = 3,
        settle: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.url = url
        self.api = api
        self.clock = clock
        self.mode = mode
        self.token = token
        self.crypto = WeChatCrypto(token, aes_key, APP_ID)
        self.attempt_timeout = attempt_timeout
        self.tries = tries
        # Waits until the app has finished what a resident's push started (its API sends).
        self.settle = settle
        self.http = httpx.AsyncClient(timeout=attempt_timeout)
        self._signed: dict[tuple[str, str, str], tuple[dict[str, str], str]] = {}

    async def close(self) -> None:
        await self.http.aclose()

    def user(self, openid: str) -> WechatUser:
        return WechatUser(self, openid)

    def xml(self, openid: str, fields: dict[str, Any]) -> str:
        """A push's plain XML."""
        body = {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": str(int(self.clock().timestamp())),
            **fields,
        }
        return xmltodict.unparse({"xml": body}, full_document=False)

    def signed(self, xml: str, *, nonce: str, timestamp: str) -> tuple[dict[str, str], str]:
        """The query and body WeChat would post for this plain XML in the driver's mode."""
        query = {
            "signature": sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": xmltodict.parse(xml)["xml"]["FromUserName"],
        }
        if self.mode == "plain":
            return query, xml
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        if self.mode == "safe":
            inner = {"ToUserName": ACCOUNT, "Encrypt": envelope["Encrypt"]}
        else:  # compatible: the plain fields and the ciphertext side by side
            inner = {**xmltodict.parse(xml)["xml"], "Encrypt": envelope["Encrypt"]}
        return query, xmltodict.unparse({"xml": inner}, full_document=False)

    async def post(
        self, xml: str, *, nonce: str | None = None, timestamp: str | None = None
    ) -> Delivery:
        """Post a push, trying again as WeChat does when no good answer came in time."""
        nonce = nonce or str(next(_nonces))
        timestamp = timestamp or str(int(self.clock().timestamp()))
        key = (xml, nonce, timestamp)
        if key not in self._signed:  # a push delivered again is the same bytes
            self._signed[key] = self.signed(xml, nonce=nonce, timestamp=timestamp)
        query, body = self._signed[key]
        delivery = Delivery()
        for _ in range(self.tries):
            started = time.perf_counter()
            try:
                response = await self.http.post(self.url, params=query, content=body.encode())
            except httpx.TimeoutException:
                delivery.statuses.append(None)
                delivery.seconds.append(time.perf_counter() - started)
                continue
            delivery.statuses.append(response.status_code)
            delivery.seconds.append(time.perf_counter() - started)
            if response.status_code == 200:
                delivery.body = response.text
                delivery.passive = self.read_passive(response.text)
                return delivery
            if self.settle is not None:  # WeChat tries again 5 seconds later
                await self.settle(query["openid"])
        return delivery

    def read_passive(self, answer: str) -> str | None:
        """The text of a passive reply (None for `success` or an empty answer)."""
        if not answer.startswith("<xml"):
            return None
        parsed = xmltodict.parse(answer)["xml"]
        if "Encrypt" in parsed:
            assert self.mode != "plain", "a sealed reply to a plain push"
            plain = self.crypto.decrypt_message(
                answer, parsed["MsgSignature"], parsed["TimeStamp"], parsed["Nonce"]
            )
            parsed = xmltodict.parse(plain)["xml"]
        else:
            assert self.mode != "safe", "a plain reply in safe mode"
        assert parsed["MsgType"] == "text"
        return str(parsed["Content"])


class WechatUser:
    """One resident following the service account."""

    def __init__(self, driver: WechatDriver, openid: str) -> None:
        self.driver = driver
        self.openid = openid
        self._seen = 0
        self.last: Delivery | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.driver.api.sent[self.openid]

    async def push(self, fields: dict[str, Any], *, event: bool = False) -> Delivery:
        """Post one push from this resident; their passive reply joins what they received."""
        self.driver.api.wrote(self.openid, event=event)
        self._seen = len(self.messages)
        at = len(self.messages)
        delivery = await self.driver.post(self.driver.xml(self.openid, fields))
        if delivery.passive is not None:
            reply = {"msgtype": "text", "text": {"content": delivery.passive}, "passive": True}
            self.messages.insert(at, reply)
        self.last = delivery
        if self.driver.settle is not None:
            await self.driver.settle(self.openid)
        return delivery

    async def send(self, text: str) -> Delivery:
        return await self.push({"MsgType": "text", "Content": text, "MsgId": str(next(_msg_ids))})

    async def press(self, label: str) -> Delivery:
        """Choose `label` on the newest message with choices (a menu message or numbers)."""
        for message in reversed(self.messages):
            if message["msgtype"] == "msgmenu":
                for item in message["msgmenu"]["list"]:
                    if item["content"] == label:
                        return await self.push(
                            {
                                "MsgType": "text",
                                "Content": label,
                                "bizmsgmenuid": item["id"],
                                "MsgId": str(next(_msg_ids)),
                            }
                        )
                raise AssertionError(f"no choice {label!r} in {message['msgmenu']['list']}")
            choices = dict((b, a) for a, b in _CHOICE.findall(message["text"]["content"]))
            if choices:
                if label not in choices:
                    raise AssertionError(f"no choice {label!r} in {list(choices)}")
                return await self.send(choices[label])
        raise AssertionError("no message with choices")

    async def send_image(self, media_id: str) -> Delivery:
        fields = {
            "MsgType": "image",
            "PicUrl": "http://mmbiz.example/pic",
            "MediaId": media_id,
            "MsgId": str(next(_msg_ids)),
        }
        return await self.push(fields)

    async def send_voice(self, media_id: str, recognition: str = "") -> Delivery:
        fields = {
            "MsgType": "voice",
            "MediaId": media_id,
            "Format": "amr",
            "Recognition": recognition,
            "MsgId": str(next(_msg_ids)),
        }
        return await self.push(fields)

    async def share_location(self, latitude: float, longitude: float) -> Delivery:
        fields = {
            "MsgType": "location",
            "Location_X": str(latitude),
            "Location_Y": str(longitude),
            "Scale": "15",
            "Label": "",
            "MsgId": str(next(_msg_ids)),
        }
        return await self.push(fields)

    async def event(self, event: str, key: str = "") -> Delivery:
        fields: dict[str, Any] = {"MsgType": "event", "Event": event}
        if key:
            fields["EventKey"] = key
        return await self.push(fields, event=True)

    async def subscribe(self, scene: str | None = None) -> Delivery:
        return await self.event("subscribe", f"qrscene_{scene}" if scene else "")

    async def scan(self, scene: str) -> Delivery:
        return await self.event("SCAN", scene)

    async def click(self, key: str) -> Delivery:
        return await self.event("CLICK", key)

    async def unsubscribe(self) -> Delivery:
        self.driver.api.unfollow(self.openid)
        fields = {"MsgType": "event", "Event": "unsubscribe"}
        return await self.driver.post(self.driver.xml(self.openid, fields))

    @property
    def texts(self) -> list[str]:
        """What arrived since this resident's last push."""
        return [_text(m) for m in self.messages[self._seen :]]

    @property
    def buttons(self) -> list[str]:
        """The choices of the newest message that has any."""
        for message in reversed(self.messages):
            if message["msgtype"] == "msgmenu":
                return [item["content"] for item in message["msgmenu"]["list"]]
            choices = _CHOICE.findall(message["text"]["content"])
            if choices:
                return [label for _, label in choices]
        return []

    @property
    def last_text(self) -> str:
        return _text(self.messages[-1]) if self.messages else ""

    @property
    def all_texts(self) -> list[str]:
        return [_text(m) for m in self.messages]


def _text(message: dict[str, Any]) -> str:
    if message["msgtype"] == "msgmenu":
        return str(message["msgmenu"]["head_content"])
    return str(message["text"]["content"])
