"""Working a request from the staff view: notes, asking the resident, photos, resolving,
merging, correcting the category, and `/find`."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.cases import actions as cases_actions
from models import (
    CategoryCorrection,
    RequestEvent,
    RequestPhoto,
    RequestStatus,
    Role,
    Visibility,
    VolunteerTask,
)
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import press_more, pump, request, staff_chat


async def _accepted(bot: Bot) -> tuple:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("签收")
    await pump(bot)
    return staff, resident, reference


async def test_public_note_reaches_the_resident_internal_note_does_not(bot: Bot) -> None:
    staff, resident, reference = await _accepted(bot)
    await staff.press("公开进展")
    await staff.send("已联系电工，明天上午上门")
    assert "进展已发布" in staff.last_text
    await press_more(staff, "内部备注")
    await staff.send("电工老王电话 139xxxx")
    assert "内部备注已保存" in staff.last_text
    assert "🔒" in staff.last_text  # staff see internal history
    seen = len(resident.messages)
    await pump(bot)
    pushed = [m.text for m in resident.messages[seen:]]
    assert len(pushed) == 1 and "明天上午上门" in pushed[0]
    row = await request(bot, reference)
    await resident.press_data(cases_actions.MY_REQUEST.data(row.id))
    assert "明天上午上门" in resident.last_text
    assert "老王" not in resident.last_text
    async with bot.db.sessions() as session:
        notes = (
            (
                await session.execute(
                    select(RequestEvent.visibility).where(
                        RequestEvent.request_id == row.id, RequestEvent.kind == "note"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(notes) == [Visibility.internal, Visibility.public]


async def test_ask_info_then_resident_answers_then_back_in_progress(bot: Bot) -> None:
    staff, resident, reference = await _accepted(bot)
    await staff.press("开始办理")
    await staff.press("请居民补充")
    await staff.send("请问是几单元几楼的灯？")
    assert (await request(bot, reference)).status == RequestStatus.waiting_for_resident
    await pump(bot)
    assert "几单元几楼" in resident.last_text
    row = await request(bot, reference)
    await resident.press_data(cases_actions.ADD_INFO.data(row.id))
    await resident.send("二单元三楼和四楼")
    await resident.press("✅ 完成")
    assert (await request(bot, reference)).status == RequestStatus.in_progress
    await pump(bot)
    assert "补充了信息" in staff.last_text and "二单元三楼" in staff.last_text


async def test_resolve_with_text_and_photos_sends_the_rate_push(bot: Bot) -> None:
    staff, resident, reference = await _accepted(bot)
    await staff.press("办结")
    await staff.press("✅ 完成")
    assert "请先写明办理结果" in staff.last_text
    await staff.send("已更换三楼和四楼灯泡")
    await staff.send_photo("after-1")
    await staff.press("✅ 完成")
    assert "已办结" in staff.messages[-1].text
    row = await request(bot, reference)
    assert row.status == RequestStatus.resolved
    await pump(bot)
    assert "已更换三楼和四楼灯泡" in resident.last_text
    assert resident.buttons == ["评价"]
    # The result photos reach the resident just before it (channels that can show them do).
    assert resident.messages[-2].album == ["after-1"]
    assert "处理结果照片" in resident.messages[-2].text
    await resident.press("评价")
    assert "解决了吗" in resident.last_text
    async with bot.db.sessions() as session:
        photos = (
            (await session.execute(select(RequestPhoto).where(RequestPhoto.request_id == row.id)))
            .scalars()
            .all()
        )
    assert [p.file_id for p in photos] == ["after-1"]


async def test_attach_photos(bot: Bot) -> None:
    staff, _resident, _reference = await _accepted(bot)
    await press_more(staff, "添加照片")
    await staff.send_photo("site-1")
    await staff.send_photo("site-2")
    await staff.press("✅ 完成")
    assert "照片：2" in staff.last_text


async def test_merge_into_another_request(bot: Bot) -> None:
    staff, _first, reference = await _accepted(bot)
    second = bot.chat()
    await onboard(second)
    other = await report_light(second, "17号楼楼道灯不亮")
    await staff.send(f"/find {other}")
    await press_more(staff, "合并")
    await staff.send(reference)
    assert f"已合并到 {reference}" in staff.last_text
    assert (await request(bot, other)).status == RequestStatus.merged
    await pump(bot)
    assert "合并办理" in second.last_text


async def test_change_category_keeps_a_correction(bot: Bot) -> None:
    staff, _resident, reference = await _accepted(bot)
    await press_more(staff, "更改类别")
    await staff.press("公共设施")
    assert "类别已更正" in staff.last_text
    row = await request(bot, reference)
    async with bot.db.sessions() as session:
        correction = (
            await session.execute(
                select(CategoryCorrection).where(CategoryCorrection.request_id == row.id)
            )
        ).scalar_one()
    assert (correction.suggested, correction.corrected) == ("lighting", "facilities")


async def test_meeting_button_starts_convening(bot: Bot) -> None:
    staff, _resident, reference = await _accepted(bot)
    await press_more(staff, "召集红马扎议事")
    # The meeting flow starts, linked to the request.
    assert any(reference in text for text in staff.texts), staff.texts


async def test_find_in_and_out_of_scope(bot: Bot) -> None:
    staff = await staff_chat(bot)
    stranger = await staff_chat(bot, unit="dahua-1")
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await staff.send(f"/find {reference.lower()}")
    assert reference in staff.last_text and "签收" in staff.buttons
    await stranger.send(f"/find {reference}")
    assert "不在您的管辖范围内" in stranger.last_text
    await staff.send("/find JM-1999-000001")
    assert "没有找到" in staff.last_text
    await resident.send(f"/find {reference}")
    assert "仅限网格员" in resident.last_text
    await staff.send("/find")
    assert "用法" in staff.last_text


async def test_blow_the_whistle_on_chosen_departments(bot: Bot) -> None:
    staff, _resident, reference = await _accepted(bot)
    police = await staff_chat(bot, role=Role.department_liaison, unit="police")
    await press_more(staff, "吹哨（部门报到）")
    assert "✅ 供电公司" in staff.buttons  # the lighting category's department, pre-selected
    await staff.press("公安分局")
    assert "✅ 公安分局" in staff.buttons
    await staff.press("📣 吹哨")
    assert "已为诉求" in staff.last_text and "公安分局" in staff.last_text
    await pump(bot)
    assert reference in police.last_text


async def test_create_a_volunteer_task(bot: Bot) -> None:
    staff, _resident, reference = await _accepted(bot)
    await press_more(staff, "派红扳手任务")
    assert "红扳手任务" in staff.last_text
    row = await request(bot, reference)
    async with bot.db.sessions() as session:
        task = (
            await session.execute(select(VolunteerTask).where(VolunteerTask.request_id == row.id))
        ).scalar_one()
    assert task.status == "open"
