"""The dispatch push: Accept, Return with a reason, Transfer down and across."""

from __future__ import annotations

from models import RequestStatus, Role
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, request, staff_chat, unit_id


async def test_accept_from_the_push(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    card = staff.messages[-1]
    assert "新诉求" in card.text and reference in card.text
    assert staff.buttons == ["签收", "退回", "转办"]
    await staff.press("签收")
    assert "已签收诉求" in staff.last_text
    assert "开始办理" in staff.buttons and "办结" in staff.buttons
    row = await request(bot, reference)
    assert row.status == RequestStatus.accepted and row.accepted_at is not None
    await pump(bot)
    assert "已受理" in resident.last_text
    # A second press is refused: already accepted, nothing changes.
    await staff.press_data(f"v1:acc:{row.id}")
    assert "不能进行此操作" in staff.last_text


async def test_return_with_reason_reaches_the_unit_above(bot: Bot) -> None:
    staff = await staff_chat(bot)
    dispatcher = await staff_chat(bot, role=Role.admin, unit="heshun")
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("退回")
    assert "原因" in staff.last_text
    await staff.send("该楼道属于城市花园，不是本网格")
    assert "已退回" in staff.last_text
    row = await request(bot, reference)
    assert row.status == RequestStatus.returned
    assert row.owner_unit_id == await unit_id(bot, "heshun")
    await pump(bot)
    card = dispatcher.messages[-1]
    assert "退回" in card.text and reference in card.text
    assert "不是本网格" in card.text


async def test_return_can_be_cancelled(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("退回")
    await staff.press("取消")
    assert "已取消" in staff.last_text
    assert (await request(bot, reference)).status == RequestStatus.submitted


async def test_transfer_across_to_a_sibling_grid(bot: Bot) -> None:
    staff = await staff_chat(bot)
    other = await staff_chat(bot, unit="heshun-2")
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("转办")
    labels = staff.buttons
    assert "和顺社区第二网格" in labels and "和顺社区第一网格" not in labels
    await staff.press("和顺社区第二网格")
    assert "已转给 和顺社区第二网格" in staff.last_text
    row = await request(bot, reference)
    assert row.status == RequestStatus.transferred
    assert row.owner_unit_id == await unit_id(bot, "heshun-2")
    await pump(bot)
    assert "转办" in other.messages[-1].text
    await other.press("签收")
    assert (await request(bot, reference)).status == RequestStatus.accepted


async def test_transfer_down_to_a_building_group(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    await pump(bot)
    await staff.press("转办")
    await staff.press("▸ 和顺社区第一网格的下级")
    assert "▴ 返回上级" in staff.buttons
    await staff.press("17号楼党小组")
    row = await request(bot, reference)
    assert row.owner_unit_id == await unit_id(bot, "heshun-1-b17")
    # Still within the grid's subtree: the grid staff can open and accept it.
    await staff.send(f"/find {reference}")
    assert reference in staff.last_text
    await staff.press("签收")
    assert (await request(bot, reference)).status == RequestStatus.accepted


async def test_transfer_to_a_unit_outside_the_tree_is_refused(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    row = await request(bot, reference)
    far = await unit_id(bot, "wenfeng-1")
    await staff.press_data(f"v1:trfc:{row.id}:{far}")
    assert "转办的范围" in staff.last_text
    assert (await request(bot, reference)).owner_unit_id == row.owner_unit_id
