"""/privacy: show and erase a resident's data; requests stay, anonymised."""

from __future__ import annotations

from sqlalchemy import select

from models import ChannelIdentity, Person, Request
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light


async def test_privacy_shows_and_deletes(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("/start")
    await chat.send("/cancel")
    reference = await report_light(chat)
    await chat.send("/privacy")
    assert "17号楼" in chat.last_text and "诉求数：1" in chat.last_text
    await chat.press("🗑 删除我的账户")
    await chat.press("确定删除")
    assert "已删除" in chat.last_text
    async with bot.db.sessions() as session:
        request = (
            await session.execute(select(Request).where(Request.reference == reference))
        ).scalar_one()
        reporter = await session.get(Person, request.reporter_id)
        assert reporter is not None and reporter.deleted_at is not None
        assert reporter.building_id is None and reporter.unit_room == "" and reporter.phone is None
        identities = (
            (
                await session.execute(
                    select(ChannelIdentity).where(ChannelIdentity.external_id == chat.user_id)
                )
            )
            .scalars()
            .all()
        )
        assert identities == []
    # Coming back starts afresh, as a new person.
    await chat.send("/start")
    assert "欢迎" in chat.texts[0]
