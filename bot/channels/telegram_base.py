"""The base of both Telegram adapters: sending an Outgoing and acknowledging presses, written
once; python-telegram-bot and aiogram each supply only the Bot API calls themselves."""

from __future__ import annotations

import abc
import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels.telegram_common import (
    CHANNEL,
    InlineRows,
    Part,
    classify_failure,
    edit_impossible,
    not_modified,
    plan,
    with_changes,
)
from bot.commands import command_list
from bot.core.output import SendResult
from bot.messages import CommandMenu, Outgoing

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApiFailure:
    """A failed Bot API call, as the framework reported it."""

    status: int | None
    description: str
    retry_after: float | None = None


class TelegramAdapter(abc.ABC):
    """Sending and acknowledging, written once; a framework adapter supplies the Bot API calls.

    Adapters wrap their framework's Bot client (never subclass it) and must not raise from
    `send`: vendor errors become a SendResult the outbox sender acts on.
    """

    name = CHANNEL
    supports_buttons = True
    rate_limited = True  # Telegram's flood limits apply: the outbox paces what it sends

    def __init__(self) -> None:
        # Messages our replies just edited: the pressed keyboard must not be cleared after that.
        self._edited: OrderedDict[tuple[str, str], None] = OrderedDict()
        # The bot's own @username (from getMe at `start`): commands to other bots are ignored.
        self.username: str | None = None
        # The commands the router has (set by the runtime); menus list only those.
        self.known_commands: frozenset[str] | None = None

    # --- what a framework provides -------------------------------------------------------------
    @abc.abstractmethod
    async def _call(self, chat_id: str, part: Part) -> str:
        """Perform one part (raising the framework's error); returns the message id."""

    @abc.abstractmethod
    async def _attach_inline(self, chat_id: str, message_id: str, rows: InlineRows) -> None:
        """editMessageReplyMarkup with an inline keyboard (None rows: remove it)."""

    @abc.abstractmethod
    async def _answer_callback(self, query_id: str) -> None:
        """answerCallbackQuery."""

    @abc.abstractmethod
    def _failure(self, exc: Exception) -> ApiFailure | None:
        """The framework's error as an ApiFailure; None when it is not a Bot API/network error."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open the client (checks the token with getMe) and set `username`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def get_updates(
        self, *, offset: int | None, poll_timeout: float, limit: int
    ) -> list[dict[str, Any]]:
        """Fetch updates as Bot API JSON; this confirms everything below `offset`."""

    @abc.abstractmethod
    async def webhook_info(self) -> dict[str, Any]:
        """getWebhookInfo as JSON."""

    @abc.abstractmethod
    async def set_webhook(self, *, url: str, secret: str) -> None:
        """setWebhook with the secret token and our allowed updates."""

    @abc.abstractmethod
    async def delete_webhook(self) -> None:
        """deleteWebhook (Telegram refuses getUpdates while a webhook is set)."""

    @abc.abstractmethod
    async def set_commands(
        self, commands: Sequence[tuple[str, str]], *, chat_id: str | None, language_code: str | None
    ) -> None:
        """setMyCommands for the default scope (chat_id None) or one chat."""

    @abc.abstractmethod
    async def delete_commands(self, *, chat_id: str) -> None:
        """deleteMyCommands for one chat (it falls back to the default list)."""

    @abc.abstractmethod
    async def download(self, file_id: str) -> bytes:
        """getFile, then the file's bytes (exports only: photos are kept as file ids)."""

    # --- written once --------------------------------------------------------------------------
    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        """Deliver one Outgoing (maybe several calls); a failure part-way retries it whole."""
        if message.menu is not None:
            return await self.apply_menu(chat_id, message.menu)
        first_id: str | None = None
        album_id: str | None = None
        for part in plan(message):
            try:
                message_id = await self._perform(chat_id, part)
            except Exception as exc:
                return self._failed(chat_id, exc)
            if part.album:
                album_id = album_id or message_id
            else:
                first_id = first_id or message_id
        return SendResult(ok=True, message_id=first_id or album_id)

    async def apply_menu(
        self, chat_id: str, menu: CommandMenu, *, known: frozenset[str] | None = None
    ) -> SendResult:
        """Give one chat the command menu of these roles (setMyCommands with a chat scope), or
        back the default one when there are none (deleteMyCommands)."""
        try:
            if menu.roles:
                commands = command_list(menu.roles, menu.locale, known or self.known_commands)
                await self.set_commands(commands, chat_id=chat_id, language_code=None)
            else:
                await self.delete_commands(chat_id=chat_id)
        except Exception as exc:
            return self._failed(chat_id, exc)
        return SendResult(ok=True)

    def _failed(self, chat_id: str, exc: Exception) -> SendResult:
        failure = self._failure(exc)
        if failure is None:
            log.exception("telegram send to %s failed unexpectedly", chat_id)
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        return classify_failure(failure.status, failure.description, failure.retry_after)

    async def _perform(self, chat_id: str, part: Part) -> str:
        if part.method != "editMessageText":
            message_id = await self._call(chat_id, part)
            if part.inline_after:
                await self._attach_inline(chat_id, message_id, part.inline)
            return message_id
        assert part.edit_message_id is not None
        self._remember_edit(chat_id, part.edit_message_id)
        try:
            return await self._call(chat_id, part)
        except Exception as exc:
            failure = self._failure(exc)
            if failure is not None and not_modified(failure.description):
                return part.edit_message_id
            if failure is not None and edit_impossible(failure.description):
                return await self._call(chat_id, with_changes(part, method="sendMessage"))
            raise

    def _remember_edit(self, chat_id: str, message_id: str) -> None:
        self._edited[(chat_id, message_id)] = None
        while len(self._edited) > 1000:
            self._edited.popitem(last=False)

    async def acknowledge(self, update: Mapping[str, Any]) -> None:
        """After a press was handled: answer its query and clear the pressed message's keyboard
        (unless a reply just edited that message). Errors are logged, never raised."""
        query = update.get("callback_query")
        if not query:
            return
        calls = [self._answer_callback(str(query["id"]))]
        message = query.get("message") or {}
        if "message_id" in message and "chat" in message:
            key = (str(message["chat"]["id"]), str(message["message_id"]))
            if key not in self._edited and message.get("reply_markup"):
                calls.append(self._attach_inline(key[0], key[1], ()))
        for outcome in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(outcome, Exception):
                failure = self._failure(outcome)
                if failure is None or not not_modified(failure.description):
                    log.info("telegram: acknowledging a press failed: %s", outcome)
