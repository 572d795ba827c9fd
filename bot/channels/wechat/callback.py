"""`GET/POST /wechat/callback`: WeChat's URL check and its pushes.

A push is checked (signature in constant time, timestamp within the allowed skew, a nonce not
replayed with another body, msg_signature and decryption in safe and compatible mode), its
window and waiting pushes are recorded, and it is handed to the engine. The answer, within
WeChat's 5 seconds: the turn's first reply when it is ready within `reply_budget_s` (sealed
when the push was), else `success` once the update is committed (the replies then go by the
customer-service API); a push not committed in time (the database is away) is answered 503
and WeChat tries again: nothing is answered before it is saved.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.background import BackgroundTask

from bot.channels.wechat import CALLBACK_PATH, inbound, render, voice, window
from bot.channels.wechat.crypto import BadCallback, Envelope, fresh, signature_ok
from bot.channels.wechat.inbound import Inbound
from bot.channels.wechat.media import MediaFetcher
from bot.channels.wechat.outbound import WechatChannel
from bot.channels.wechat.passive import Slot
from bot.channels.wechat.replay import NonceBook
from bot.config_channels import WechatSettings
from bot.core.engine import Engine, ProcessResult

log = logging.getLogger(__name__)
SUCCESS = "success"


class Deliverer(Protocol):
    """What the callback needs of the outbox sender (bot.outbox.Sender): channels sit beside
    the sender, not above it."""

    def deliver_soon(self, row_ids: Sequence[int]) -> asyncio.Task[None]: ...


class Callback:
    """What the route needs: settings, keys, the engine and the channel."""

    def __init__(
        self,
        *,
        settings: WechatSettings,
        engine: Engine,
        channel: WechatChannel,
        sessions: async_sessionmaker[AsyncSession],
        sender: Deliverer | None,
        clock: Callable[[], datetime],
        media: MediaFetcher | None = None,
    ) -> None:
        assert settings.token is not None
        self.settings = settings
        self.token = settings.token.get_secret_value()
        keys = [
            key.get_secret_value()
            for key in (settings.encoding_aes_key, settings.previous_encoding_aes_key)
            if key is not None
        ]
        self.envelope = (
            Envelope(token=self.token, receive_id=settings.app_id, encoding_aes_keys=keys)
            if keys
            else None
        )
        self.engine = engine
        self.channel = channel
        self.sessions = sessions
        self.sender = sender
        self.clock = clock
        self.media = media
        self.nonces = NonceBook(skew_s=settings.max_clock_skew_s)
        # Work in flight, with the openid it is for (see `idle`).
        self._turns: dict[asyncio.Task[ProcessResult], str] = {}
        self._wakes: dict[asyncio.Task[None], str] = {}
        self._by_update: dict[str, asyncio.Task[ProcessResult]] = {}

    def signed(self, request: Request) -> bool:
        """The query's signature is WeChat's and its timestamp is fresh."""
        query = request.query_params
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not fresh(timestamp, now=self.clock().timestamp(), skew=self.settings.max_clock_skew_s):
            return False
        return signature_ok(query.get("signature", ""), self.token, timestamp, nonce)

    def plain_body(self, request: Request, body: bytes) -> tuple[str, bool]:
        """The push's plain XML, and whether it came sealed (BadCallback when refused)."""
        query = request.query_params
        if query.get("encrypt_type", "raw") == "aes":
            if self.envelope is None:
                raise BadCallback("an encrypted push, but no EncodingAESKey is set")
            xml = self.envelope.open(
                body,
                msg_signature=query.get("msg_signature", ""),
                timestamp=query.get("timestamp", ""),
                nonce=query.get("nonce", ""),
            )
            return xml, True
        if self.settings.encrypt_mode == "safe":
            raise BadCallback("a plain push in safe mode")
        return body.decode("utf-8"), False

    async def record(self, push: Inbound, request: Request, body: bytes) -> list[int] | None:
        """Refuse a replay (None); else open the resident's window and wake their waiting
        pushes (returns their ids), in one short transaction."""
        query, now = request.query_params, self.clock()
        async with self.sessions() as session, session.begin():
            admitted = await self.nonces.admit(
                session,
                timestamp=query.get("timestamp", ""),
                nonce=query.get("nonce", ""),
                body=body,
                now=now,
            )
            if not admitted:
                return None
            if push.interaction is None or push.incoming is None:
                return []
            if push.incoming.kind == "reachability":
                return []
            await window.open_window(
                session,
                openid=push.openid,
                now=now,
                event=push.interaction == "event",
                settings=self.settings,
            )
            return await window.wake(session, openid=push.openid, now=now)

    def turn(self, push: Inbound) -> tuple[Slot, asyncio.Task[ProcessResult]]:
        """Hand the update to the engine in a task of its own (it finishes even if WeChat
        hangs up), with a slot open for its first reply. Its media is fetched in that task
        too: a slow download does not hold the answer past WeChat's 5 seconds."""
        assert push.incoming is not None
        slot = self.channel.slots.open(push.openid)
        task = asyncio.create_task(self._process(push))
        self._turns[task] = push.openid
        self._by_update[push.incoming.update_id] = task
        task.add_done_callback(self._finished)
        return slot, task

    async def _process(self, push: Inbound) -> ProcessResult:
        assert push.incoming is not None
        incoming = push.incoming
        if push.media_id and self.media is not None:
            incoming = await self.media.attach(push)
        result = await self.engine.process(incoming)
        if result.status == "handled" and voice.unrecognised(push):
            row = await voice.ask_to_type(
                self.sessions, chat_id=push.openid, default_locale=self.channel.locale
            )
            self.wake([row], push.openid)
        return result

    async def answer(
        self, push: Inbound, sealed: bool, nonce: str, woken: list[int], deadline: float
    ) -> Response:
        """Wait for the first reply, the commit or the deadline (the budget from the push's
        arrival); then answer. Pushes that waited for the resident go out after the turn."""
        assert push.incoming is not None
        running = self._by_update.get(push.incoming.update_id)
        if running is not None:
            # The same push again while its first delivery runs in this process: the turn's
            # replies belong to that delivery; this one only says whether it is saved.
            await asyncio.wait({running}, timeout=_left(deadline))
            return _saved_or_retry(running.done() and _succeeded(running))
        slot, task = self.turn(push)
        task.add_done_callback(lambda _task: self.wake(woken, push.openid))
        waits: set[asyncio.Future[object]] = {slot.reply, task}  # type: ignore[arg-type]
        await asyncio.wait(waits, timeout=_left(deadline), return_when=asyncio.FIRST_COMPLETED)
        close = BackgroundTask(self.channel.slots.written, push.openid, slot)
        if slot.reply.done() and slot.reply.result() is not None:
            text = slot.reply.result()
            assert text is not None
            now = int(self.clock().timestamp())
            xml = render.passive_xml(openid=push.openid, account=push.account, text=text, now=now)
            if sealed and self.envelope is not None:
                xml = self.envelope.seal(xml, nonce=nonce)
            return Response(xml, media_type="application/xml", background=close)
        # Saved: the engine sends replies only after its commit, and returns after it.
        saved = slot.reply.done() or (task.done() and _succeeded(task))
        self.channel.slots.close(push.openid, slot)
        return _saved_or_retry(saved)

    def _finished(self, task: asyncio.Task[ProcessResult]) -> None:
        self._turns.pop(task, None)
        self._by_update = {key: t for key, t in self._by_update.items() if t is not task}
        if not task.cancelled() and task.exception() is not None:
            log.debug("wechat update not handled; WeChat will try again")

    def wake(self, row_ids: list[int], openid: str) -> None:
        """Deliver the resident's waiting pushes, in order, in the background."""
        if row_ids and self.sender is not None:
            task = self.sender.deliver_soon(row_ids)
            self._wakes[task] = openid
            task.add_done_callback(lambda done: self._wakes.pop(done, None))

    async def idle(self, openid: str | None = None) -> None:
        """Wait until the turns in flight (and the deliveries they woke) have finished: all
        of them, or those of one resident."""
        while True:
            tasks = [
                task
                for task, owner in [*self._turns.items(), *self._wakes.items()]
                if openid is None or owner == openid
            ]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)


def make_wechat_router(callback: Callback) -> APIRouter:
    """The callback route of the HTTP app."""
    router = APIRouter()

    @router.get(CALLBACK_PATH, include_in_schema=False)
    async def verify(request: Request) -> Response:
        if not callback.signed(request):
            return Response(status_code=403)
        return Response(request.query_params.get("echostr", ""), media_type="text/plain")

    @router.post(CALLBACK_PATH, include_in_schema=False)
    async def push(request: Request) -> Response:
        deadline = asyncio.get_running_loop().time() + callback.settings.reply_budget_s
        if not callback.signed(request):
            return Response(status_code=403)
        body = await request.body()
        try:
            xml, sealed = callback.plain_body(request, body)
            parsed = inbound.parse(xml)
        except (BadCallback, ValueError, UnicodeDecodeError) as bad:
            log.warning("wechat callback refused: %s", bad)
            return Response(status_code=400)
        try:
            woken = await asyncio.wait_for(callback.record(parsed, request, body), _left(deadline))
        except Exception:
            log.warning("wechat callback not recorded; WeChat will try again", exc_info=True)
            return Response(status_code=503)
        if woken is None:
            log.warning("wechat callback refused: a nonce replayed with another body")
            return Response(status_code=403)
        if parsed.incoming is None:
            callback.wake(woken, parsed.openid)
            return Response(SUCCESS, media_type="text/plain")
        nonce = request.query_params.get("nonce") or secrets.token_hex(8)
        return await callback.answer(parsed, sealed, nonce, woken, deadline)

    return router


def _left(deadline: float) -> float:
    return max(0.0, deadline - asyncio.get_running_loop().time())


def _succeeded(task: asyncio.Task[ProcessResult]) -> bool:
    return not task.cancelled() and task.exception() is None


def _saved_or_retry(saved: bool) -> Response:
    """`success` once the push is saved; else 503, and WeChat tries again."""
    if saved:
        return Response(SUCCESS, media_type="text/plain")
    return Response(status_code=503)
