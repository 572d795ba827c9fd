"""Telegram through python-telegram-bot 22: its `telegram.Bot` client as transport only.

No `Application`, no ConversationHandler, no persistence: the conversation core owns the state.
The stock `Updater` confirms updates before they are handled, so polling is our own loop
(`bot.channels.telegram_polling`) calling getUpdates through the Bot. The Bot's HTTP goes
through aiohttp (`bot.channels.ptb_transport`: why).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.channels.ptb_transport import AiohttpRequest
from bot.channels.telegram_base import ApiFailure, TelegramAdapter
from bot.channels.telegram_common import ALLOWED_UPDATES, InlineRows, Part

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove

# python-telegram-bot's documented opt-in to its next major version's time periods (timedelta,
# not seconds): without it, every 429 it builds warns of the change (the adapter reads both).
os.environ.setdefault("PTB_TIMEDELTA", "true")


def make_bot(token: str, api_base_url: str, *, timeout: float = 10.0, pool: int = 64) -> Bot:
    """A `telegram.Bot` talking to `api_base_url` (Telegram, a local Bot API server, a fake)."""
    base = api_base_url.rstrip("/")
    return Bot(
        token,
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=AiohttpRequest(
            connection_pool_size=pool,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        ),
        get_updates_request=AiohttpRequest(
            connection_pool_size=1, read_timeout=timeout, connect_timeout=timeout
        ),
    )


def _inline(rows: InlineRows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def _markup(part: Part) -> Markup | None:
    if part.reply:
        keyboard = [
            [
                KeyboardButton(
                    label, request_location=what == "location", request_contact=what == "contact"
                )
            ]
            for label, what in part.reply
        ]
        return ReplyKeyboardMarkup(keyboard, resize_keyboard=True, one_time_keyboard=True)
    if part.remove_keyboard:
        return ReplyKeyboardRemove()
    if part.inline:
        return _inline(part.inline)
    return None


def _media(file: str) -> Any:
    path = Path(file)
    return path if path.is_file() else file


class PtbTelegram(TelegramAdapter):
    """The Telegram channel on python-telegram-bot."""

    framework = "ptb"

    def __init__(self, bot: Bot, *, read_timeout: float = 10.0) -> None:
        super().__init__()
        self.bot = bot
        self._read_timeout = read_timeout

    @classmethod
    def create(cls, token: str, api_base_url: str, *, timeout: float = 10.0) -> PtbTelegram:
        """An adapter with its own Bot client."""
        return cls(make_bot(token, api_base_url, timeout=timeout), read_timeout=timeout)

    async def start(self) -> None:
        await self.bot.initialize()  # getMe
        self.username = self.bot.username

    async def close(self) -> None:
        await self.bot.shutdown()

    async def _call(self, chat_id: str, part: Part) -> str:
        bot, markup = self.bot, _markup(part)
        caption = part.text or None
        if part.method == "sendMessage":
            sent = await bot.send_message(
                chat_id, part.text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        elif part.method == "editMessageText":
            assert part.edit_message_id is not None
            edited = await bot.edit_message_text(
                part.text,
                chat_id=chat_id,
                message_id=int(part.edit_message_id),
                parse_mode=ParseMode.HTML,
                reply_markup=_inline(part.inline) if part.inline else None,
            )
            return part.edit_message_id if isinstance(edited, bool) else str(edited.message_id)
        elif part.method == "sendMediaGroup":
            album = await bot.send_media_group(
                chat_id, [InputMediaPhoto(_media(file)) for file in part.files]
            )
            return str(album[0].message_id)
        elif part.method == "sendPhoto":
            assert part.file is not None
            sent = await bot.send_photo(
                chat_id,
                _media(part.file),
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        else:
            assert part.file is not None
            sent = await bot.send_document(
                chat_id,
                _media(part.file),
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                filename=part.filename,
            )
        return str(sent.message_id)

    async def _attach_inline(self, chat_id: str, message_id: str, rows: InlineRows) -> None:
        await self.bot.edit_message_reply_markup(
            chat_id=chat_id,
            message_id=int(message_id),
            reply_markup=_inline(rows) if rows else None,
        )

    async def _answer_callback(self, query_id: str) -> None:
        await self.bot.answer_callback_query(query_id)

    def _failure(self, exc: Exception) -> ApiFailure | None:
        if isinstance(exc, RetryAfter):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return ApiFailure(429, exc.message, seconds)
        if isinstance(exc, Forbidden):
            return ApiFailure(403, exc.message)
        if isinstance(exc, BadRequest):
            return ApiFailure(400, exc.message)
        if isinstance(exc, NetworkError):  # timeouts, connection errors and 5xx answers
            return ApiFailure(None, f"{type(exc).__name__}: {exc.message}")
        if isinstance(exc, TelegramError):
            return ApiFailure(None, exc.message)
        return None

    async def get_updates(
        self, *, offset: int | None, poll_timeout: float, limit: int
    ) -> list[dict[str, Any]]:
        # The Bot API's own JSON, as a webhook would deliver it: building the library's
        # objects of every update only to turn them back into dicts is skipped. `Bot` asks for
        # its typed method instead, with a warning that is of no use here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PTBUserWarning)
            updates = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": int(poll_timeout),
                    "limit": limit,
                    "allowed_updates": list(ALLOWED_UPDATES),
                },
                read_timeout=poll_timeout + self._read_timeout,
            )
        return cast(list[dict[str, Any]], updates)

    async def webhook_info(self) -> dict[str, Any]:
        return (await self.bot.get_webhook_info()).to_dict()

    async def set_webhook(self, *, url: str, secret: str) -> None:
        await self.bot.set_webhook(url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES))

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook()

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], *, chat_id: str | None, language_code: str | None
    ) -> None:
        scope = BotCommandScopeChat(int(chat_id)) if chat_id else BotCommandScopeDefault()
        await self.bot.set_my_commands(
            [BotCommand(name, text) for name, text in commands],
            scope=scope,
            language_code=language_code,
        )

    async def delete_commands(self, *, chat_id: str) -> None:
        await self.bot.delete_my_commands(scope=BotCommandScopeChat(int(chat_id)))

    async def download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())
