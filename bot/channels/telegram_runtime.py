"""Running the Telegram channel: the client per framework, the update handler, commands per
role, and `run_telegram` for `redgrid run` (polling or webhook, python-telegram-bot or aiogram).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.telegram_base import TelegramAdapter
from bot.channels.telegram_common import CHANNEL, incoming_from_update
from bot.commands import command_list
from bot.config import Settings
from bot.config_channels import TelegramSettings
from bot.core.engine import Engine
from bot.exceptions import ConfigError
from bot.i18n import LOCALES
from bot.services.org import command_menu

log = logging.getLogger(__name__)

UpdateHandler = Callable[[dict[str, Any]], Awaitable[bool]]
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


def make_client(settings: TelegramSettings, *, timeout: float = 10.0) -> TelegramAdapter:
    """The adapter of the configured framework, pointed at `api_base_url`."""
    if settings.token is None:
        raise ConfigError(
            "telegram.token is not set: put it in config.yaml or REDGRID_TELEGRAM__TOKEN"
        )
    token = settings.token.get_secret_value()
    if settings.framework == "aiogram":
        from bot.channels.telegram_aiogram import AiogramTelegram

        return AiogramTelegram.create(token, settings.api_base_url, timeout=timeout)
    from bot.channels.telegram_ptb import PtbTelegram

    return PtbTelegram.create(token, settings.api_base_url, timeout=timeout)


def make_update_handler(engine: Engine, client: TelegramAdapter) -> UpdateHandler:
    """Bot API update in, committed handling out; raises when the update must come again."""

    async def handle_update(update: dict[str, Any]) -> bool:
        if client.username and not engine.settings.meetings.bot_username:
            # Links to the bot (an admin's invite, a printed notice) open it on Telegram too.
            engine.settings.meetings.bot_username = client.username
        incoming = incoming_from_update(update, bot_username=client.username)
        if incoming is None:
            return True  # an update type the bot does not use: confirm and forget
        await engine.process(incoming)
        await client.acknowledge(update)
        return True

    return handle_update


def webhook_path(settings: TelegramSettings) -> str:
    """The path part of `telegram.webhook_url`, where the router listens."""
    return urlparse(settings.webhook_url).path or DEFAULT_WEBHOOK_PATH


def webhook_secret(settings: TelegramSettings) -> str:
    """The secret token of the webhook; webhook mode refuses to start without one."""
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise ConfigError(
            "telegram.webhook_secret is not set: webhook mode needs one "
            "(1-256 characters A-Z a-z 0-9 _ -), e.g. REDGRID_TELEGRAM__WEBHOOK_SECRET"
        )
    return settings.webhook_secret.get_secret_value()


async def ensure_webhook(client: TelegramAdapter, *, url: str, secret: str) -> bool:
    """setWebhook unless Telegram already has this URL and deliveries work; True if it was set.

    getWebhookInfo does not show the secret: a changed secret shows as 401/403 delivery
    errors, and then the webhook is set again.
    """
    info = await client.webhook_info()
    error = str(info.get("last_error_message") or "")
    if info.get("url") == url and "401" not in error and "403" not in error:
        return False
    await client.set_webhook(url=url, secret=secret)
    return True


# --- commands per role --------------------------------------------------------------------------


async def sync_default_commands(
    client: TelegramAdapter, *, known: Iterable[str], default_locale: str
) -> None:
    """Residents' command list for every language (the default one without a language code)."""
    known = list(known)
    for locale in LOCALES:
        code = None if locale == default_locale else locale
        await client.set_commands(command_list([], locale, known), chat_id=None, language_code=code)


async def sync_commands(
    session: AsyncSession,
    *,
    client: TelegramAdapter,
    person_id: int,
    known: Iterable[str],
    default_locale: str,
) -> None:
    """Give a person's Telegram chats the commands of their roles, now. Role changes while
    running travel as outbox rows instead (`bot.services.org.command_menu`)."""
    targets = await command_menu.menu_targets(
        session, person_ids=[person_id], default_locale=default_locale, channels=[CHANNEL]
    )
    await _apply_menus(client, targets, frozenset(known))


async def catch_up_menus(engine: Engine, *, settings: Settings) -> int:
    """At start: every staff member's chats get their menu again (mending any drift), as one
    outbox row per chat replacing the menu rows still waiting. Start-up makes no menu call
    itself, and the sender never lets a menu hold up a reply: a restart answers at once.
    Returns how many people hold a role."""
    async with engine.sessions() as session, session.begin():
        return await command_menu.catch_up(session, channels=[CHANNEL], settings=settings)


async def _apply_menus(
    client: TelegramAdapter, targets: Iterable[command_menu.MenuTarget], known: frozenset[str]
) -> None:
    for target in targets:
        result = await client.apply_menu(target.chat_id, target.menu, known=known)
        if not result.ok:
            log.warning("telegram: menu of chat %s not set: %s", target.chat_id, result.error)


# --- the entry point ----------------------------------------------------------------------------


async def run_telegram(
    settings: Settings,
    engine: Engine,
    client: TelegramAdapter,
    *,
    stop: asyncio.Event,
    serve_webhook_itself: bool = True,
    poll_timeout: float = 30.0,
    concurrency: int = 64,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run the Telegram channel until `stop` is set; `on_started` is called once Telegram
    answered and updates can flow.

    `client` must be the OutputChannel the engine (and its outbox sender) was built with.
    Webhook mode: with `serve_webhook_itself` a small uvicorn server listens on `web.host` /
    `web.port`; without it the project's web app must include `make_telegram_router(...)`.
    """
    from bot.channels.telegram_polling import poll

    tg = settings.telegram
    await client.start()
    try:
        known = list(engine.router.commands)
        client.known_commands = frozenset(known)
        await sync_default_commands(client, known=known, default_locale=settings.locale.default)
        await catch_up_menus(engine, settings=settings)
        handle = make_update_handler(engine, client)
        if tg.mode == "polling":
            await client.delete_webhook()
            if on_started is not None:
                on_started()
            await poll(
                client, handle, stop=stop, poll_timeout=poll_timeout, concurrency=concurrency
            )
            return
        await ensure_webhook(client, url=tg.webhook_url, secret=webhook_secret(tg))
        if on_started is not None:
            on_started()
        if not serve_webhook_itself:
            await stop.wait()
            return
        from bot.channels.telegram_webhook import serve_webhook

        server = await serve_webhook(
            make_telegram_router(settings, engine, client),
            host=settings.web.host,
            port=settings.web.port,
        )
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        await client.close()


def make_telegram_router(settings: Settings, engine: Engine, client: TelegramAdapter) -> Any:
    """The webhook router for the web app, at the path of `telegram.webhook_url`."""
    from bot.channels.telegram_webhook import make_webhook_router

    return make_webhook_router(
        path=webhook_path(settings.telegram),
        secret=webhook_secret(settings.telegram),
        handle_update=make_update_handler(engine, client),
    )
