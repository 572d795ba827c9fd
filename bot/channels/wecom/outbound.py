"""The WeCom `OutputChannel`: text, images (uploaded, then sent), and template cards whose
button clicks come back as the same button presses; an edit updates the member's card in
place (`update_template_card`) while it holds a code, else goes as a new message.

WeCom's error codes: 40014/42001 the token (refreshed once, then retried); -1 busy (retried
with backoff by the sender); 60111/81013/46004, or the member listed in `invaliduser`, the
member is gone or outside the app's visible range (unreachable; the admins are told once).
Pacing per member (30 a minute, 1,000 an hour) is the sender's: `chat_windows` and `cost`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat.tokens import TokenStore
from bot.channels.wecom import CHANNEL, api, cards, render
from bot.channels.wecom.api import WecomApi, WecomError
from bot.config import Settings
from bot.core.output import SendResult
from bot.messages import Button, Outgoing
from bot.services.comms import unreachable
from bot.services.storage import attachments

log = logging.getLogger(__name__)
SEND = "/cgi-bin/message/send"
UPDATE_CARD = "/cgi-bin/message/update_template_card"
T = TypeVar("T")


class WecomChannel:
    """Sends to members of the corp; never raises for WeCom's refusals."""

    name = CHANNEL
    supports_buttons = True
    rate_limited = True

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        client: WecomApi,
        tokens: TokenStore,
        clock: Callable[[], datetime],
    ) -> None:
        self.app_settings = settings
        self.settings = settings.wecom
        self.sessions = sessions
        self.api = client
        self.tokens = tokens
        self.clock = clock
        self.locale = settings.locale.default
        self.chat_windows = (
            (self.settings.member_per_minute, 60.0),
            (self.settings.member_per_hour, 3600.0),
        )

    def cost(self, message: Outgoing) -> int:
        """How many of a member's messages this one takes."""
        return render.messages_in(message)

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        """Deliver one message to a member (their userid is the chat id)."""
        if message.menu is not None:
            return SendResult(ok=True)  # the app's menu is set in WeCom's admin console
        try:
            if message.edit_message_id and await self._update(chat_id, message):
                return SendResult(ok=True, message_id=message.edit_message_id)
            message_id = await self._send_all(chat_id, message)
        except WecomError as error:
            return await self._failure(chat_id, error)
        return SendResult(ok=True, message_id=message_id)

    async def _send_all(self, userid: str, message: Outgoing) -> str | None:
        """The photos first, then the document, then the text or its cards; the first card's
        task id is the message's id (what an edit names)."""
        for image in [*message.album, *([message.photo] if message.photo else [])]:
            await self._upload_and_send(userid, "image", image, None)
        if message.document:
            await self._upload_and_send(userid, "file", message.document, message.document_name)
        chunks = render.card_chunks(message)
        if not chunks:
            if message.text:
                msgid = await self._send(userid, "text", render.text_content(message.text))
                return f"m:{msgid}" if msgid else None
            return None
        if render.overflows(message):  # read once, here: its card carries a short title
            await self._send(userid, "text", render.text_content(message.text))
        return await self._send_cards(userid, message, chunks, first=True)

    async def _send_cards(
        self, userid: str, message: Outgoing, chunks: list[list[Button]], *, first: bool
    ) -> str | None:
        """One card per chunk of buttons (the text on the first when `first`, "continued"
        on the others); the first card's task id."""
        first_id: str | None = None
        for number, buttons in enumerate(chunks):
            task_id = cards.new_task_id()
            card = render.template_card(
                message, buttons, task_id, first=first and number == 0, locale=self.locale
            )
            code = await self._send(userid, "template_card", card, want="response_code")
            async with self.sessions() as session, session.begin():
                await cards.remember(
                    session, task_id=task_id, userid=userid, code=code, now=self.clock()
                )
            first_id = first_id or task_id
        return first_id

    async def _send(
        self, userid: str, msgtype: str, content: dict[str, Any], *, want: str = "msgid"
    ) -> str:
        body = render.envelope(
            userid, self.api.agent_id, msgtype, content, self.settings.duplicate_check_s
        )
        data = await self.call(SEND, body)
        if userid in str(data.get("invaliduser") or "").split("|"):
            raise WecomError(81013, "the member is not valid for this app")
        return str(data.get(want) or "")

    async def _upload_and_send(self, userid: str, kind: str, source: str, name: str | None) -> None:
        path = self._local(source)
        if path is None:
            log.warning("wecom: a %s not found on disk, not sent: %s", kind, source)
            return
        content = path.read_bytes()
        media_id = await self.with_token(
            lambda token: self.api.upload(token, kind, name or path.name, content)
        )
        await self._send(userid, kind, {"media_id": media_id})

    def _local(self, source: str) -> Path | None:
        """A file to upload: a local path, or a stored upload's name."""
        stored = attachments.photo_path(self.app_settings.webchat.upload_dir, source)
        if stored is not None:
            return stored
        path = Path(source)  # a file the product wrote (an export, an invite's QR code)
        return path if path.is_file() else None

    async def _update(self, userid: str, message: Outgoing) -> bool:
        """Update the member's card in place; False when it cannot be (then sent anew). A
        text the card cannot hold follows as a message, then the buttons one card cannot
        take, on cards of their own."""
        task_id = message.edit_message_id or ""
        async with self.sessions() as session, session.begin():
            code = await cards.take_code(session, task_id=task_id, userid=userid, now=self.clock())
        if code is None:
            return False
        chunks = render.card_chunks(message)
        card = (
            render.template_card(message, chunks[0], task_id, first=True, locale=self.locale)
            if chunks
            else render.done_card(message, task_id, locale=self.locale)
        )
        body = {
            "userids": [userid],
            "agentid": self.api.agent_id,
            "response_code": code,
            "template_card": card,
        }
        try:
            await self.call(UPDATE_CARD, body)
        except WecomError as error:
            if error.code == api.BUSY or error.code in api.TOKEN_INVALID:
                raise
            return False  # the code was refused: the update goes as a new message
        if chunks and render.overflows(message):
            await self._send(userid, "text", render.text_content(message.text))
        if len(chunks) > 1:
            await self._send_cards(userid, message, chunks[1:], first=False)
        return True

    async def _failure(self, userid: str, error: WecomError) -> SendResult:
        if error.code in api.UNREACHABLE:
            async with self.sessions() as session, session.begin():
                await unreachable.flag_and_tell(
                    session,
                    channel=CHANNEL,
                    chat_id=userid,
                    now=self.clock(),
                    settings=self.app_settings,
                    why="reach.why.wecom_member",
                )
            return SendResult(ok=False, unreachable=True, error=str(error))
        if error.code == api.BUSY or error.code in api.TOKEN_INVALID:
            return SendResult(ok=False, error=str(error))
        return SendResult(ok=False, permanent=True, error=str(error))

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One API call with the shared token; a refused token is refreshed once."""
        return await self.with_token(lambda token: self.api.call(path, token, body))

    async def with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call` with the token; once more with a fresh one if WeCom refused it."""
        token = await self.tokens.get()
        try:
            return await call(token)
        except WecomError as error:
            if error.code not in api.TOKEN_INVALID:
                raise
        return await call(await self.tokens.refresh(stale=token))
