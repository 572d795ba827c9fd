"""Plays WeCom's side of the callback: posts encrypted XML pushes (always: WeCom has no plain
mode) to the app over real HTTP, signed as WeCom signs them, and tries again, three tries in
all, when no good answer came within 5 seconds. Encryption is wechatpy's enterprise crypto,
not the app's own.

    driver = WecomDriver(url, api=fake_api, clock=clock)
    member = driver.member("zhangsan")
    await member.send("/queue"); member.texts; await member.click("接单")
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from tests.fakes.wecom_api import AGENT_ID, CORP_ID, Card, FakeWecomAPI

TOKEN = "redgrid-wecom-token"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
_msg_ids = itertools.count(8_100_000_000_000_000_000)
_nonces = itertools.count(500_000)


class WecomDriver:
    """WeCom posting to one callback URL."""

    def __init__(
        self,
        url: str,
        *,
        api: FakeWecomAPI,
        clock: Callable[[], datetime],
        token: str = TOKEN,
        aes_key: str = AES_KEY,
        settle: Callable[[], Awaitable[None]] | None = None,
        tries: int = 3,
    ) -> None:
        self.url = url
        self.api = api
        self.clock = clock
        self.crypto = WeChatCrypto(token, aes_key, CORP_ID)
        self.settle = settle
        self.tries = tries
        self.http = httpx.AsyncClient(timeout=5.0)
        self.statuses: list[int | None] = []

    async def close(self) -> None:
        await self.http.aclose()

    def member(self, userid: str) -> WecomMember:
        self.api.members.add(userid)
        return WecomMember(self, userid)

    def xml(self, userid: str, fields: dict[str, Any]) -> str:
        body = {
            "ToUserName": CORP_ID,
            "FromUserName": userid,
            "CreateTime": str(int(self.clock().timestamp())),
            **fields,
            "AgentID": str(AGENT_ID),
        }
        return str(xmltodict.unparse({"xml": body}, full_document=False))

    def sealed(self, xml: str, nonce: str, timestamp: str) -> tuple[dict[str, str], str]:
        envelope = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        query = {"msg_signature": envelope["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
        inner = {"ToUserName": CORP_ID, "AgentID": str(AGENT_ID), "Encrypt": envelope["Encrypt"]}
        return query, str(xmltodict.unparse({"xml": inner}, full_document=False))

    async def post(self, xml: str) -> int | None:
        """Post a push, trying again as WeCom does; the last try's status."""
        nonce, timestamp = str(next(_nonces)), str(int(self.clock().timestamp()))
        query, body = self.sealed(xml, nonce, timestamp)
        status: int | None = None
        for _ in range(self.tries):
            try:
                response = await self.http.post(self.url, params=query, content=body.encode())
                status = response.status_code
            except httpx.TimeoutException:
                status = None
            self.statuses.append(status)
            if status == 200:
                break
        if self.settle is not None:
            await self.settle()
        return status

    async def verify_url(self, echo: str = "hello-redgrid") -> httpx.Response:
        """WeCom's URL check: a signed, encrypted echostr."""
        nonce, timestamp = str(next(_nonces)), str(int(self.clock().timestamp()))
        envelope = xmltodict.parse(self.crypto.encrypt_message(echo, nonce, timestamp))["xml"]
        query = {
            "msg_signature": envelope["MsgSignature"],
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": envelope["Encrypt"],
        }
        return await self.http.get(self.url, params=query)


class WecomMember:
    """One member of the corp using the app."""

    def __init__(self, driver: WecomDriver, userid: str) -> None:
        self.driver = driver
        self.userid = userid
        self._seen = 0

    @property
    def api(self) -> FakeWecomAPI:
        return self.driver.api

    async def push(self, fields: dict[str, Any]) -> int | None:
        self._seen = len(self.api.texts(self.userid))
        return await self.driver.post(self.driver.xml(self.userid, fields))

    async def send(self, text: str) -> int | None:
        fields = {"MsgType": "text", "Content": text, "MsgId": str(next(_msg_ids))}
        return await self.push(fields)

    async def send_image(self, media_id: str) -> int | None:
        fields = {
            "MsgType": "image",
            "PicUrl": "https://wework.example/pic",
            "MediaId": media_id,
            "MsgId": str(next(_msg_ids)),
        }
        return await self.push(fields)

    async def send_voice(self, media_id: str) -> int | None:
        """A voice message, as WeCom pushes one: its media and format, no words."""
        fields = {
            "MsgType": "voice",
            "MediaId": media_id,
            "Format": "amr",
            "MsgId": str(next(_msg_ids)),
        }
        return await self.push(fields)

    def click_xml(self, label: str, card: Card | None = None) -> str:
        """The event of a click on `label` (on the newest card that has it)."""
        card = card or self.card_with(label)
        fields = {
            "MsgType": "event",
            "Event": "template_card_event",
            "EventKey": card.key_of(label),
            "TaskId": card.task_id,
            "CardType": "button_interaction",
            "ResponseCode": self.api.click_code(card.task_id),
        }
        return self.driver.xml(self.userid, fields)

    async def click(self, label: str, card: Card | None = None) -> int | None:
        self._seen = len(self.api.texts(self.userid))
        return await self.driver.post(self.click_xml(label, card))

    def card_with(self, label: str) -> Card:
        for card in reversed(self.cards):
            if label in card.buttons:
                return card
        raise AssertionError(f"no card with {label!r}: {[c.buttons for c in self.cards]}")

    @property
    def cards(self) -> list[Card]:
        return self.api.cards_of(self.userid)

    @property
    def texts(self) -> list[str]:
        """What arrived since this member's last push."""
        return self.api.texts(self.userid)[self._seen :]

    @property
    def all_texts(self) -> list[str]:
        return self.api.texts(self.userid)
