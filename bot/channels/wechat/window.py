"""Each resident's customer-service window (48 hours after their last message) and its quota
of messages, per openid in the database; pushes that had to wait are woken when they write.

A message opens the window with `quota_per_message` sends; a menu click, follow or scan gives
at least `quota_per_event` within the minute. Passive replies cost nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.wechat import CHANNEL
from bot.channels.wechat.sql import insert_ignoring
from bot.config_channels import WechatSettings
from models import OutboxMessage, OutboxStatus, WechatWindow

# A push waiting for the resident to write is pending until then (or this long).
WAIT = timedelta(days=30)
EVENT_WINDOW = timedelta(minutes=1)


async def open_window(
    session: AsyncSession, *, openid: str, now: datetime, event: bool, settings: WechatSettings
) -> None:
    """The resident wrote (or clicked, followed, scanned): open or widen their window."""
    current = await session.get(WechatWindow, openid, with_for_update=True)
    if event:
        until, quota = now + EVENT_WINDOW, settings.quota_per_event
    else:
        until, quota = now + timedelta(hours=settings.window_hours), settings.quota_per_message
    if current is None:
        await session.execute(
            insert_ignoring(session, WechatWindow)
            .values(openid=openid, open_until=until, quota_left=quota)
            .on_conflict_do_nothing()
        )
        return
    if event and current.open_until > now:
        until = max(until, current.open_until)
        quota = max(quota, current.quota_left)
    current.open_until, current.quota_left = until, quota


async def take(session: AsyncSession, *, openid: str, now: datetime) -> bool:
    """Use one message of the open window's quota; False when the window is closed or
    its quota is used up."""
    result = await session.execute(
        update(WechatWindow)
        .where(
            WechatWindow.openid == openid,
            WechatWindow.open_until > now,
            WechatWindow.quota_left > 0,
        )
        .values(quota_left=WechatWindow.quota_left - 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def give_back(session: AsyncSession, *, openid: str) -> None:
    """A send that did not go out returns its quota."""
    await session.execute(
        update(WechatWindow)
        .where(WechatWindow.openid == openid)
        .values(quota_left=WechatWindow.quota_left + 1)
        .execution_options(synchronize_session=False)
    )


async def close(session: AsyncSession, *, openid: str, now: datetime, used_up: bool) -> None:
    """WeChat said the window is closed (45015) or its quota used (45047)."""
    values = {"quota_left": 0} if used_up else {"open_until": now, "quota_left": 0}
    await session.execute(
        update(WechatWindow)
        .where(WechatWindow.openid == openid)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def wake(session: AsyncSession, *, openid: str, now: datetime) -> list[int]:
    """The resident wrote: their waiting pushes are due now. Returns the ids of all their
    pending rows, for the sender to deliver in order."""
    pending = (OutboxMessage.channel == CHANNEL) & (OutboxMessage.chat_id == openid)
    pending &= OutboxMessage.status == OutboxStatus.pending
    ids = list(await session.scalars(select(OutboxMessage.id).where(pending)))
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(pending, OutboxMessage.not_before > now + timedelta(days=1))
            .values(not_before=now)
            .execution_options(synchronize_session=False)
        )
    return ids
