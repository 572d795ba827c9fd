"""Numbered choices on pushes. WeChat shows no buttons: a message's buttons become a menu
message or numbered text, and the engine remembers a turn's choices so that typing "2" presses
the second (bot.core.replies). A push is no turn: once one with buttons has gone out, its
choices are remembered the same way in the resident's conversation, so a number typed later
answers the newest message that offered choices, whichever way it came."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat import CHANNEL
from bot.core.replies import CHOICES
from bot.messages import Outgoing
from models import Conversation


def offers_choices(message: Outgoing) -> bool:
    """A push (not a turn's reply, which the engine remembers) with buttons."""
    return bool(message.kind) and any(message.buttons)


async def remember(
    sessions: async_sessionmaker[AsyncSession], *, openid: str, message: Outgoing
) -> bool:
    """Remember the push's choices in the resident's conversation (locked like a turn, so a
    turn in progress finishes first); False when they have none yet."""
    choices = [button.data for row in message.buttons for button in row]
    async with sessions() as session, session.begin():
        query = (
            select(Conversation)
            .where(Conversation.channel == CHANNEL, Conversation.chat_id == openid)
            .with_for_update()
        )
        conversation = (await session.execute(query)).scalar_one_or_none()
        if conversation is None:
            return False
        conversation.data = {**(conversation.data or {}), CHOICES: choices}
    return True
