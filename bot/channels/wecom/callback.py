"""`GET/POST /wecom/callback`: WeCom's URL check and its pushes.

The URL check's `echostr` is ciphertext: its signature is checked and it is answered
decrypted (at once: WeCom waits 1 second). A push is checked (timestamp within the allowed
skew, msg_signature in constant time, decryption with the current or the previous key, a
nonce not replayed with another body); a card click's code is kept for updating that card;
the update goes to the engine, and the answer (an empty 200) comes once it is committed:
replies go by the API through the outbox (a voice message's turn is followed by a polite
request to type a few words: WeCom recognises none). A push not committed within the budget
is answered 503 and WeCom tries again (the engine's update id makes the retry one update).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat.crypto import BadCallback, Envelope, fresh
from bot.channels.wechat.replay import NonceBook
from bot.channels.wechat.voice import ask_to_type
from bot.channels.wecom import CALLBACK_PATH, CHANNEL, cards, inbound
from bot.channels.wecom.inbound import Inbound
from bot.channels.wecom.media import fetch_media
from bot.channels.wecom.outbound import WecomChannel
from bot.config_channels import WecomSettings
from bot.core.engine import Engine, ProcessResult

log = logging.getLogger(__name__)


class Callback:
    """What the route needs: settings, keys, the engine and the channel."""

    def __init__(
        self,
        *,
        settings: WecomSettings,
        engine: Engine,
        channel: WecomChannel,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        upload_dir: Path,
    ) -> None:
        assert settings.token is not None
        self.settings = settings
        keys = [
            key.get_secret_value()
            for key in (settings.encoding_aes_key, settings.previous_encoding_aes_key)
            if key is not None
        ]
        self.envelope = Envelope(
            token=settings.token.get_secret_value(),
            receive_id=settings.corp_id,
            encoding_aes_keys=keys,
        )
        self.engine = engine
        self.channel = channel
        self.sessions = sessions
        self.clock = clock
        self.upload_dir = upload_dir
        self.nonces = NonceBook(skew_s=settings.max_clock_skew_s)
        self._running: dict[str, asyncio.Task[ProcessResult]] = {}

    def open(self, request: Request, encrypt: str | None, body: bytes | None) -> str:
        """The plain text of a signed, fresh ciphertext (BadCallback when refused)."""
        query = request.query_params
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not fresh(timestamp, now=self.clock().timestamp(), skew=self.settings.max_clock_skew_s):
            raise BadCallback("stale timestamp")
        signature = query.get("msg_signature", "")
        if body is not None:
            return self.envelope.open(
                body, msg_signature=signature, timestamp=timestamp, nonce=nonce
            )
        return self.envelope.open_text(
            encrypt or "", msg_signature=signature, timestamp=timestamp, nonce=nonce
        )

    async def record(self, push: Inbound, request: Request, body: bytes) -> bool:
        """Refuse a replay (False); keep a click's code for updating its card."""
        query = request.query_params
        async with self.sessions() as session, session.begin():
            admitted = await self.nonces.admit(
                session,
                timestamp=query.get("timestamp", ""),
                # The book is shared with the WeChat channel: WeCom's nonces apart.
                nonce="wecom:" + query.get("nonce", ""),
                body=body,
                now=self.clock(),
            )
            if admitted and push.click is not None:
                await cards.clicked(
                    session,
                    task_id=push.click.task_id,
                    userid=push.userid,
                    code=push.click.response_code,
                    now=self.clock(),
                )
            return admitted

    def turn(self, push: Inbound) -> asyncio.Task[ProcessResult]:
        """The update's turn in a task of its own (it finishes even if WeCom hangs up); the
        same update again while it runs waits for that turn."""
        assert push.incoming is not None
        update_id = push.incoming.update_id
        running = self._running.get(update_id)
        if running is not None:
            return running
        task = asyncio.create_task(self._process(push))
        self._running[update_id] = task
        task.add_done_callback(lambda _done: self._running.pop(update_id, None))
        return task

    async def _process(self, push: Inbound) -> ProcessResult:
        assert push.incoming is not None
        incoming = push.incoming
        if push.media_id:
            incoming = await fetch_media(self.channel, push, self.upload_dir)
        result = await self.engine.process(incoming)
        if result.status == "handled" and incoming.kind == "voice":
            # After the turn's own answer: WeCom gave no words, so ask for some.
            await ask_to_type(
                self.sessions,
                chat_id=push.userid,
                default_locale=self.channel.locale,
                channel=CHANNEL,
                key="wecom.voice_no_words",
            )
        return result

    async def idle(self) -> None:
        """Wait until the turns in flight have finished (tests)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)


def make_wecom_router(callback: Callback) -> APIRouter:
    """The callback route of the HTTP app."""
    router = APIRouter()

    @router.get(CALLBACK_PATH, include_in_schema=False)
    async def verify(request: Request) -> Response:
        try:
            echo = callback.open(request, request.query_params.get("echostr", ""), None)
        except BadCallback as bad:
            log.warning("wecom URL check refused: %s", bad)
            return Response(status_code=403)
        return Response(echo, media_type="text/plain")

    @router.post(CALLBACK_PATH, include_in_schema=False)
    async def push(request: Request) -> Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + callback.settings.reply_budget_s
        body = await request.body()
        try:
            parsed = inbound.parse(callback.open(request, None, body))
        except BadCallback as bad:
            log.warning("wecom callback refused: %s", bad)
            return Response(status_code=403)
        except (ValueError, UnicodeDecodeError) as bad:
            log.warning("wecom callback refused: %s", bad)
            return Response(status_code=400)
        try:
            admitted = await asyncio.wait_for(
                callback.record(parsed, request, body), max(0.0, deadline - loop.time())
            )
        except Exception:
            log.warning("wecom callback not recorded; WeCom will try again", exc_info=True)
            return Response(status_code=503)
        if not admitted:
            log.warning("wecom callback refused: a nonce replayed with another body")
            return Response(status_code=403)
        if parsed.incoming is None:
            return Response(status_code=200)
        task = callback.turn(parsed)
        await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
        if task.done() and not task.cancelled() and task.exception() is None:
            return Response(status_code=200)
        return Response(status_code=503)

    return router
