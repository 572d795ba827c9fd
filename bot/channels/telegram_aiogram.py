"""Telegram through aiogram 3: its `aiogram.Bot` client as transport only.

No Dispatcher, no FSM storage: the conversation core owns the state. The stock
`Dispatcher.start_polling` confirms updates before they are handled, so polling is our own loop
(`bot.channels.telegram_polling`) calling `Bot.get_updates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiogram import Bot, methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.channels.telegram_base import ApiFailure, TelegramAdapter
from bot.channels.telegram_common import ALLOWED_UPDATES, InlineRows, Part

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


class _RawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates whose answer stays the Bot API's own JSON: the engine reads plain dicts, so
    building aiogram's models of every update only to dump them back is skipped."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


# aiogram reads every answer as `Response[<the method's return type>]`, a parametrized pydantic
# model. pydantic caches those classes only weakly, so each garbage collection that frees one
# makes the next call build it again (several milliseconds, every few hundred calls). Holding
# the ones the adapter uses keeps them built.
_RESPONSE_MODELS = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    for method in (
        methods.AnswerCallbackQuery,
        methods.DeleteMyCommands,
        methods.DeleteWebhook,
        methods.EditMessageReplyMarkup,
        methods.EditMessageText,
        methods.GetFile,
        methods.GetMe,
        methods.GetWebhookInfo,
        methods.SendDocument,
        methods.SendMediaGroup,
        methods.SendMessage,
        methods.SendPhoto,
        methods.SetMyCommands,
        methods.SetWebhook,
        _RawUpdates,
    )
)


def make_bot(token: str, api_base_url: str, *, timeout: float = 10.0, pool: int = 64) -> Bot:
    """An `aiogram.Bot` talking to `api_base_url` (Telegram, a local Bot API server, a fake)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_base_url), limit=pool)
    session.timeout = timeout
    return Bot(token, session=session)


def _inline(rows: InlineRows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in rows
        ]
    )


def _markup(part: Part) -> Markup | None:
    if part.reply:
        keyboard = [
            [
                KeyboardButton(
                    text=label,
                    request_location=what == "location" or None,
                    request_contact=what == "contact" or None,
                )
            ]
            for label, what in part.reply
        ]
        return ReplyKeyboardMarkup(keyboard=keyboard, resize_keyboard=True, one_time_keyboard=True)
    if part.remove_keyboard:
        return ReplyKeyboardRemove(remove_keyboard=True)
    if part.inline:
        return _inline(part.inline)
    return None


def _media(file: str) -> Any:
    path = Path(file)
    return FSInputFile(path) if path.is_file() else file


class AiogramTelegram(TelegramAdapter):
    """The Telegram channel on aiogram."""

    framework = "aiogram"

    def __init__(self, bot: Bot, *, poll_slack: float = 10.0) -> None:
        super().__init__()
        self.bot = bot
        self._poll_slack = poll_slack

    @classmethod
    def create(cls, token: str, api_base_url: str, *, timeout: float = 10.0) -> AiogramTelegram:
        """An adapter with its own Bot client."""
        return cls(make_bot(token, api_base_url, timeout=timeout), poll_slack=timeout)

    async def start(self) -> None:
        self.username = (await self.bot.get_me()).username

    async def close(self) -> None:
        await self.bot.session.close()

    async def _call(self, chat_id: str, part: Part) -> str:
        bot, markup = self.bot, _markup(part)
        caption = part.text or None
        if part.method == "sendMessage":
            sent = await bot.send_message(
                chat_id=chat_id, text=part.text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        elif part.method == "editMessageText":
            assert part.edit_message_id is not None
            edited = await bot.edit_message_text(
                text=part.text,
                chat_id=chat_id,
                message_id=int(part.edit_message_id),
                parse_mode=ParseMode.HTML,
                reply_markup=_inline(part.inline) if part.inline else None,
            )
            return str(edited.message_id) if isinstance(edited, Message) else part.edit_message_id
        elif part.method == "sendMediaGroup":
            album = await bot.send_media_group(
                chat_id=chat_id, media=[InputMediaPhoto(media=_media(file)) for file in part.files]
            )
            return str(album[0].message_id)
        elif part.method == "sendPhoto":
            assert part.file is not None
            sent = await bot.send_photo(
                chat_id=chat_id,
                photo=_media(part.file),
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        else:
            assert part.file is not None
            media = _media(part.file)
            if isinstance(media, FSInputFile) and part.filename:
                media.filename = part.filename
            sent = await bot.send_document(
                chat_id=chat_id,
                document=media,
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        return str(sent.message_id)

    async def _attach_inline(self, chat_id: str, message_id: str, rows: InlineRows) -> None:
        await self.bot.edit_message_reply_markup(
            chat_id=chat_id,
            message_id=int(message_id),
            reply_markup=_inline(rows) if rows else None,
        )

    async def _answer_callback(self, query_id: str) -> None:
        await self.bot.answer_callback_query(callback_query_id=query_id)

    def _failure(self, exc: Exception) -> ApiFailure | None:
        if isinstance(exc, TelegramRetryAfter):
            return ApiFailure(429, exc.message, float(exc.retry_after))
        if isinstance(exc, TelegramForbiddenError):
            return ApiFailure(403, exc.message)
        if isinstance(exc, TelegramBadRequest):
            return ApiFailure(400, exc.message)
        if isinstance(exc, TelegramServerError | TelegramNetworkError):
            return ApiFailure(None, f"{type(exc).__name__}: {exc.message}")
        if isinstance(exc, TelegramAPIError):
            return ApiFailure(None, exc.message)
        if isinstance(exc, TimeoutError):
            return ApiFailure(None, "TimeoutError")
        return None

    async def get_updates(
        self, *, offset: int | None, poll_timeout: float, limit: int
    ) -> list[dict[str, Any]]:
        method = _RawUpdates(
            offset=offset,
            timeout=int(poll_timeout),
            limit=limit,
            allowed_updates=list(ALLOWED_UPDATES),
        )
        return await self.bot(method, request_timeout=int(poll_timeout + self._poll_slack))

    async def webhook_info(self) -> dict[str, Any]:
        info = await self.bot.get_webhook_info()
        return info.model_dump(mode="json", exclude_none=True)

    async def set_webhook(self, *, url: str, secret: str) -> None:
        await self.bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=list(ALLOWED_UPDATES)
        )

    async def delete_webhook(self) -> None:
        await self.bot.delete_webhook()

    async def set_commands(
        self, commands: Sequence[tuple[str, str]], *, chat_id: str | None, language_code: str | None
    ) -> None:
        scope = BotCommandScopeChat(chat_id=int(chat_id)) if chat_id else BotCommandScopeDefault()
        await self.bot.set_my_commands(
            [BotCommand(command=name, description=text) for name, text in commands],
            scope=scope,
            language_code=language_code,
        )

    async def delete_commands(self, *, chat_id: str) -> None:
        await self.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=int(chat_id)))

    async def download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        assert file.file_path is not None
        data = await self.bot.download_file(file.file_path)
        assert data is not None
        return data.read()
