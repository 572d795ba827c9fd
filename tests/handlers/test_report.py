"""Reporting: from free text to a routed request with a reference number."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.services.cases import actions as cases_actions
from models import OrgUnit, Request, RequestFollower, RequestPhoto
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light


async def _count(bot: Bot, model: type) -> int:
    async with bot.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_report_reaches_the_grid_of_the_building(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("楼道灯坏了好几天了")
    await chat.send_photo("photo-1", size=2048)
    await chat.send_voice("voice-1")
    assert "照明" in chat.last_text  # suggested, and the stairwell is a common area
    assert "照片：1 张，语音：1 条" in chat.last_text
    await chat.press("✅ 提交")
    submitted = next(t for t in chat.texts if "诉求编号" in t)
    reference = re.search(r"JM-2026-\d{6}", submitted)
    assert reference, submitted
    async with bot.db.sessions() as session:
        request = (
            await session.execute(select(Request).where(Request.reference == reference.group()))
        ).scalar_one()
        owner = await session.get(OrgUnit, request.owner_unit_id)
        assert owner is not None and owner.name_zh in submitted
        assert request.place_scope == "common_area"
        assert request.accept_by is not None and request.resolve_by is not None
        photos = (
            (
                await session.execute(
                    select(RequestPhoto).where(RequestPhoto.request_id == request.id)
                )
            )
            .scalars()
            .all()
        )
        assert sorted(p.kind for p in photos) == ["photo", "voice"]
    assert "新诉求" in " ".join(chat.buttons)


async def test_category_can_be_changed_from_the_full_list(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("俺家楼下有人天天吵架")
    await chat.press("换个分类")
    assert "政策咨询" in chat.buttons
    await chat.press("政策咨询")
    assert "分类：政策咨询" in chat.last_text
    await chat.press("✅ 提交")
    assert any("诉求编号" in t for t in chat.texts)


async def test_urgent_request_asks_for_a_reason(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("楼道里有很大的煤气味")
    await chat.press("🚨 紧急")
    assert "为什么紧急" in chat.last_text
    await chat.send("味道很冲，怕爆炸")
    assert "紧急" in chat.last_text
    await chat.press("✅ 提交")
    async with bot.db.sessions() as session:
        request = (await session.execute(select(Request))).scalars().all()[-1]
        assert request.priority == "urgent" and request.urgent_reason == "味道很冲，怕爆炸"


async def test_neighbour_can_follow_an_open_request_instead(bot: Bot) -> None:
    first = bot.chat()
    await onboard(first)
    reference = await report_light(first)
    second = bot.chat()
    await onboard(second)
    await second.send("17号楼楼道的灯不亮了")
    assert reference in second.last_text
    await second.press(f"我也遇到了 {reference}")
    assert any(reference in t and "关注" in t for t in second.texts)
    assert await _count(bot, Request) == 1
    assert await _count(bot, RequestFollower) == 1
    await second.send("/my")
    assert any(reference in label for label in second.buttons)


async def test_empty_done_and_text_where_buttons_are_expected(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.press("📝 新诉求")
    await chat.press_data(cases_actions.SUBMIT.data())  # nothing said yet: nothing to submit
    assert "还没有收到" in chat.last_text
    await chat.send("路灯不亮")
    await chat.press("🚨 紧急")
    await chat.send_sticker()  # a reason is words
    assert "为什么紧急" in chat.last_text
    assert await _count(bot, Request) == 0


async def test_forged_and_stale_buttons_change_nothing(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.press_data(cases_actions.SUBMIT.data())
    assert "失效" in chat.last_text
    await chat.press_data("v0:rsubmit")
    assert "失效" in chat.last_text
    await chat.press_data("garbage" * 20)
    assert "失效" in chat.last_text
    await chat.press_data(cases_actions.ME_TOO.data(999999))
    assert "失效" in chat.last_text
    assert await _count(bot, Request) == 0


async def test_report_before_registering_starts_onboarding(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/new")
    assert any("先登记住址" in t for t in chat.texts)
