"""Where a person's own pushes go: their private chat, never a group they wrote in."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.channels.testing import TestChat
from models import ChannelIdentity
from tests.conftest import Bot

GROUP = "-100777"


async def _identity(bot: Bot, user_id: str) -> ChannelIdentity:
    async with bot.db.sessions() as session:
        return (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == user_id)
            )
        ).scalar_one()


async def test_a_person_met_first_in_a_group_is_reached_in_their_own_chat(bot: Bot) -> None:
    in_group = TestChat(bot.engine, bot.channel, user_id="501", chat_id=GROUP)
    await in_group.deliver(in_group.incoming("text", text="你好", is_group=True))
    assert in_group.texts  # the group got its answer
    assert (await _identity(bot, "501")).chat_id == "501"


async def test_writing_privately_moves_an_identity_left_on_a_group(bot: Bot) -> None:
    in_group = TestChat(bot.engine, bot.channel, user_id="502", chat_id=GROUP)
    await in_group.deliver(in_group.incoming("text", text="你好", is_group=True))
    async with bot.db.sessions() as session, session.begin():  # as an earlier version left it
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.external_id == "502")
            .values(chat_id=GROUP, unreachable_at=bot.clock())
        )
    await in_group.deliver(in_group.incoming("text", text="还在吗", is_group=True))
    identity = await _identity(bot, "502")
    assert identity.chat_id == GROUP and identity.unreachable_at is not None  # a group says nothing
    await TestChat(bot.engine, bot.channel, user_id="502").send("/start")
    identity = await _identity(bot, "502")
    assert identity.chat_id == "502" and identity.unreachable_at is None
