"""Building the WeCom channels from settings: the app's output channel first (the engine
needs it), the group robots' when any is set, then the callback route over the engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat.tokens import TokenStore
from bot.channels.wecom.api import WecomApi
from bot.channels.wecom.callback import Callback, make_wecom_router
from bot.channels.wecom.outbound import WecomChannel
from bot.channels.wecom.robots import RobotChannel
from bot.config import Settings
from bot.core.engine import Engine


def make_client(settings: Settings) -> WecomApi:
    wecom = settings.wecom
    return WecomApi(
        base_url=wecom.api_base_url,
        corp_id=wecom.corp_id,
        agent_id=wecom.agent_id,
        secret=wecom.secret.get_secret_value() if wecom.secret is not None else "",
        timeout=wecom.timeout_s,
    )


def make_channel(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
) -> WecomChannel:
    """The output channel of the configured app."""
    client = make_client(settings)
    tokens = TokenStore(sessions=sessions, key=client.token_key, fetch=client.token, clock=clock)
    return WecomChannel(
        settings=settings, sessions=sessions, client=client, tokens=tokens, clock=clock
    )


def make_robots(settings: Settings) -> RobotChannel:
    """The group robots' output channel."""
    return RobotChannel(settings=settings.wecom, client=make_client(settings))


def make_callback(
    settings: Settings,
    *,
    engine: Engine,
    channel: WecomChannel,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
) -> Callback:
    """What `GET/POST /wecom/callback` does, over this engine."""
    return Callback(
        settings=settings.wecom,
        engine=engine,
        channel=channel,
        sessions=sessions,
        clock=clock,
        upload_dir=settings.webchat.upload_dir,
    )


def make_router(
    settings: Settings,
    *,
    engine: Engine,
    channel: WecomChannel,
    sessions: async_sessionmaker[AsyncSession],
    clock: Callable[[], datetime],
) -> APIRouter:
    """`GET/POST /wecom/callback` over this engine."""
    return make_wecom_router(
        make_callback(settings, engine=engine, channel=channel, sessions=sessions, clock=clock)
    )
