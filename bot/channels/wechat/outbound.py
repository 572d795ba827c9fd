"""The WeChat `OutputChannel`: a passive reply when a callback waits for one, else a
customer-service message inside the resident's window, else a template message for the
push's kind, else the push waits until the resident writes.

WeChat's error codes: -1 busy (retried with backoff); 45009 the account's daily quota (wait
until it resets at midnight, Beijing time); 45015 window closed and 45047 quota used (fall
back to a template); 43004 the resident unfollowed (unreachable); 40001/40014/42001 the token
(refreshed once, then retried).

Sends to one resident are paced (`sends_per_openid_per_s`, one a second by default): here in
this process, and across the workers of one PostgreSQL database by the sender's shared chat
turn, whose gap is at least `chat_gap`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat import CHANNEL, api, choices, render, window
from bot.channels.wechat.api import WechatApi, WechatError
from bot.channels.wechat.passive import PassiveSlots
from bot.channels.wechat.tokens import TokenStore
from bot.config_channels import WechatSettings
from bot.core.output import SendResult
from bot.messages import Outgoing
from bot.outbox.limits import TokenBucket

CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
BEIJING = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")
MAX_PACED = 10_000  # residents' send buckets kept before the idle ones are dropped


class WechatChannel:
    """Sends to residents on the service account; never raises for WeChat's refusals."""

    name = CHANNEL
    # Buttons become numbered choices shown as a menu message or as numbered text: a reply
    # to either is the number (a turn's remembered by the engine, a push's by `choices`).
    supports_buttons = False
    rate_limited = True

    def __init__(
        self,
        *,
        settings: WechatSettings,
        sessions: async_sessionmaker[AsyncSession],
        client: WechatApi,
        tokens: TokenStore,
        clock: Callable[[], datetime],
        locale: str = "zh",
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.api = client
        self.tokens = tokens
        self.clock = clock
        self.locale = locale
        self.slots = PassiveSlots()
        self._paces: dict[str, TokenBucket] = {}
        # Seconds between two sends to one resident: the sender's chat turn keeps at least this.
        self.chat_gap = 1.0 / settings.sends_per_openid_per_s

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        """Deliver one message to a resident (their openid is the chat id)."""
        if message.menu is not None:
            return SendResult(ok=True)  # the account's menu is set once for everybody
        result = await self._deliver(chat_id, message)
        if result.ok and result.message_id != "template" and choices.offers_choices(message):
            await choices.remember(self.sessions, openid=chat_id, message=message)
        return result

    async def _deliver(self, chat_id: str, message: Outgoing) -> SendResult:
        slot = self.slots.take(chat_id)
        if slot is not None:
            if not (message.photo or message.document):
                await self.slots.answer(slot, render.text_of(message))
                return SendResult(ok=True, message_id="passive")
            await self.slots.answer(slot, None)
        return await self._custom(chat_id, message)

    async def _custom(self, openid: str, message: Outgoing) -> SendResult:
        async with self.sessions() as session, session.begin():
            allowed = await window.take(session, openid=openid, now=self.clock())
        if not allowed:
            return await self._template(openid, message)
        try:
            await self._pace(openid)
            await self.call(CUSTOM_SEND, render.custom_body(openid, message))
        except WechatError as error:
            if error.code in (api.OUT_OF_WINDOW, api.QUOTA_USED):
                async with self.sessions() as session, session.begin():
                    await window.close(
                        session,
                        openid=openid,
                        now=self.clock(),
                        used_up=error.code == api.QUOTA_USED,
                    )
                return await self._template(openid, message)
            await self._give_back(openid)
            return self._failure(error)
        except Exception:
            await self._give_back(openid)
            raise
        return SendResult(ok=True)

    async def _template(self, openid: str, message: Outgoing) -> SendResult:
        """Outside the window: a template for the push's kind (or the default one), or wait
        for the resident. A reply of a turn has no kind: it goes as a status would."""
        templates = self.settings.templates
        template = templates.get(message.kind or "status") or templates.get("default")
        waiting = SendResult(
            ok=False, wait_for_person=True, error="waiting for the resident to write"
        )
        if template is None:
            return waiting
        body = render.template_body(openid, message, template, self.locale)
        try:
            await self._pace(openid)
            await self.call(TEMPLATE_SEND, body)
        except WechatError as error:
            if error.code in (api.BUSY, api.DAILY_QUOTA, api.NOT_FOLLOWING):
                return self._failure(error)
            return waiting  # a template WeChat refuses: the push waits instead of being lost
        return SendResult(ok=True, message_id="template")

    async def _pace(self, openid: str) -> None:
        """Wait until one more send to the resident keeps `sends_per_openid_per_s`."""
        if len(self._paces) > MAX_PACED:  # memory follows the residents being written to
            now = time.monotonic()
            self._paces = {k: b for k, b in self._paces.items() if not b.is_idle(now)}
        bucket = self._paces.get(openid)
        if bucket is None:
            rate = self.settings.sends_per_openid_per_s
            bucket = self._paces[openid] = TokenBucket(rate, 1.0, time.monotonic())
        # Reserve the send now (the bucket goes into debt), then wait for its turn: sends to
        # one resident made at the same moment queue up instead of going out together.
        now = time.monotonic()
        wait = bucket.wait_time(now)
        bucket.take(now)
        if wait > 0:
            await asyncio.sleep(wait)

    async def _give_back(self, openid: str) -> None:
        async with self.sessions() as session, session.begin():
            await window.give_back(session, openid=openid)

    def _failure(self, error: WechatError) -> SendResult:
        if error.code == api.NOT_FOLLOWING:
            return SendResult(ok=False, unreachable=True, error=str(error))
        if error.code == api.DAILY_QUOTA:
            return SendResult(ok=False, retry_after=self._until_midnight(), error=str(error))
        if error.code == api.BUSY or error.code in api.TOKEN_INVALID:
            return SendResult(ok=False, error=str(error))
        return SendResult(ok=False, permanent=True, error=str(error))

    def _until_midnight(self) -> float:
        local = self.clock().astimezone(BEIJING)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
        return (midnight - local).total_seconds()

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One API call with the shared token; a refused token is refreshed once."""
        return await self.with_token(lambda token: self.api.call(path, token, body))

    async def with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call` with the token; once more with a fresh one if WeChat refused it."""
        token = await self.tokens.get()
        try:
            return await call(token)
        except WechatError as error:
            if error.code not in api.TOKEN_INVALID:
                raise
        return await call(await self.tokens.refresh(stale=token))
