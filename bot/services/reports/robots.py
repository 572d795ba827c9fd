"""A unit's digests also posted to its WeCom group, when the unit has a group robot
(`wecom.robots`: unit code -> webhook key): one outbox row on the robots' channel, whose chat
id is the unit's code (the key stays in the settings), in the district's default language."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.config_channels import WECOM_ROBOT_CHANNEL
from bot.i18n import t
from bot.messages import Outgoing
from bot.outbox.store import enqueue
from bot.services.comms.notify import Render
from models import OrgUnit


async def to_group(
    session: AsyncSession, *, unit_id: int, render: Render, settings: Settings, titled: bool
) -> bool:
    """Post `render`'s message to the unit's group; False when it has no robot. `titled`
    heads it with the unit's name (a text that does not name it)."""
    robots = settings.wecom.robots
    if not robots:
        return False
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or unit.code not in robots:
        return False
    locale = settings.locale.default
    text = render(locale).text
    if titled:
        text = t(locale, "wecom.digest_title", unit=unit.name(locale)) + "\n" + text
    await enqueue(
        session, channel=WECOM_ROBOT_CHANNEL, chat_id=unit.code, message=Outgoing(text=text)
    )
    return True
