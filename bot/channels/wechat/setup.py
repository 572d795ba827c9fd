"""Building the WeChat channel from settings: its output channel first (the engine needs it),
then the callback route over the engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.callback import Callback, Deliverer, make_wechat_router
from bot.channels.wechat.media import MediaFetcher
from bot.channels.wechat.outbound import WechatChannel
from bot.channels.wechat.tokens import TokenStore
from bot.config import Settings
from bot.core.engine import Engine


def make_channel(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
) -> WechatChannel:
    """The output channel of the configured service account."""
    wechat = settings.wechat
    assert wechat.app_secret is not None
    client = WechatApi(
        base_url=wechat.api_base_url,
        app_id=wechat.app_id,
        app_secret=wechat.app_secret.get_secret_value(),
        timeout=wechat.timeout_s,
    )
    tokens = TokenStore(
        sessions=sessions,
        key=client.app_id,
        fetch=lambda force: client.stable_token(force_refresh=force),
        clock=clock,
    )
    return WechatChannel(
        settings=wechat,
        sessions=sessions,
        client=client,
        tokens=tokens,
        clock=clock,
        locale=settings.locale.default,
    )


def make_callback(
    settings: Settings,
    *,
    engine: Engine,
    channel: WechatChannel,
    sessions: async_sessionmaker[AsyncSession],
    sender: Deliverer | None,
    clock: Callable[[], datetime],
) -> Callback:
    """What `GET/POST /wechat/callback` does, over this engine."""
    return Callback(
        settings=settings.wechat,
        engine=engine,
        channel=channel,
        sessions=sessions,
        sender=sender,
        clock=clock,
        media=MediaFetcher(channel=channel, directory=settings.webchat.upload_dir),
    )


def make_router(settings: Settings, **parts: Any) -> APIRouter:
    """`GET/POST /wechat/callback` over this engine (parts as for `make_callback`)."""
    return make_wechat_router(make_callback(settings, **parts))
