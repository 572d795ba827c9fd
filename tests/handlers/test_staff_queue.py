"""`/queue` paging, the steward's queue with upkeep, and the admin commands."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services.cases import intake, workflow
from bot.services.cases import lookup as request_service
from bot.services.dispatch import upkeep
from models import Building, Compound, RequestStatus, Role
from tests.conftest import Bot
from tests.handlers.staff_journey import pump, request, staff_chat, unit_id


async def _submit(bot: Bot, *, compound: str, building: str, category: str = "lighting") -> str:
    """A request submitted straight through the workflow; returns its reference."""
    async with bot.db.sessions() as session, session.begin():
        row = (
            await session.execute(
                select(Building)
                .join(Compound, Compound.id == Building.compound_id)
                .where(Compound.code == compound, Building.number == building)
            )
        ).scalar_one()
        chosen = await request_service.get_category(session, slug=category)
        assert chosen is not None
        made = await intake.submit(
            session,
            reporter=None,
            category=chosen,
            description="楼道灯坏了",
            building_id=row.id,
            compound_id=row.compound_id,
            now=bot.clock(),
            settings=bot.engine.settings,
        )
        return made.reference


async def test_queue_pages_due_soonest_first(bot: Bot) -> None:
    staff = await staff_chat(bot)
    references = [
        await _submit(bot, compound="haisheng-sunshine", building=str(n)) for n in range(1, 8)
    ]
    await _submit(bot, compound="city-garden", building="1")  # another grid: not listed
    # The last one is overdue: it goes first.
    async with bot.db.sessions() as session, session.begin():
        last = (await session.execute(select(workflow.Request))).scalars().all()
        overdue = next(r for r in last if r.reference == references[-1])
        overdue.accept_by = bot.clock() - timedelta(minutes=5)
    await staff.send("/queue")
    text, labels = staff.last_text, staff.buttons
    assert "共 7 件" in text and "第 1/2 页" in text
    assert text.index("已超期") < text.index("今天到期")
    assert labels[0].startswith("⚠") and references[-1] in labels[0]
    assert len(labels) == 6 and labels[-1] == "下一页 ▶"
    await staff.press("下一页 ▶")
    assert "第 2/2 页" in staff.last_text
    assert staff.buttons[-1] == "◀ 上一页" and len(staff.buttons) == 3
    await staff.press(staff.buttons[0])
    assert "【JM-" in staff.last_text and "签收" in staff.buttons
    await staff.press("📋 待办列表")  # on the card, beside 更多操作
    assert "第 1/2 页" in staff.last_text


async def test_empty_queue_and_resident_refused(bot: Bot) -> None:
    staff = await staff_chat(bot, unit="wenfeng-2")
    await staff.send("/queue")
    assert "没有待办" in staff.last_text
    resident = bot.chat()
    await resident.send("/queue")
    assert "仅限网格员" in resident.last_text


async def test_steward_works_the_workstation_queue_with_upkeep(bot: Bot) -> None:
    steward = await staff_chat(bot, role=Role.steward, unit="steward-1")
    grid = await staff_chat(bot, unit="dahua-1")
    reference = await _submit(bot, compound="dahua-machinery-dorm", building="2")
    row = await request(bot, reference)
    assert row.owner_unit_id == await unit_id(bot, "steward-1")
    await pump(bot)
    assert steward.buttons == ["签收", "退回", "转办"]
    assert "知悉" in grid.last_text and grid.buttons == []  # informed, no buttons
    await grid.send(f"/find {reference}")
    assert "不在您的管辖范围内" in grid.last_text
    await steward.press("签收")
    assert (await request(bot, reference)).status == RequestStatus.accepted
    async with bot.db.sessions() as session, session.begin():
        made = await upkeep.create_due_upkeep(
            session, now=bot.clock(), settings=bot.engine.settings
        )
    # 11 compounds without property management, a lights and a rain-pipe check each; four of
    # them are workstation 1's.
    assert len(made) == 22
    await steward.send("/queue")
    assert "共 9 件" in steward.last_text
    await pump(bot)
    assert "例行巡检" in steward.last_text


async def test_admin_assign_and_escalate(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    staff = await staff_chat(bot)
    reference = await _submit(bot, compound="haisheng-sunshine", building="17")
    await staff.send(f"/assign {reference} heshun-2")
    assert "管理员" in staff.last_text
    await admin.send(f"/assign {reference} wenfeng-1")
    assert "管理员" in admin.last_text
    await admin.send(f"/assign {reference} nowhere")
    assert "找不到编码为 nowhere" in admin.last_text
    await admin.send(f"/assign {reference}")
    assert "用法" in admin.last_text
    assert (await request(bot, reference)).owner_unit_id == await unit_id(bot, "heshun-1")
    await admin.send(f"/assign {reference} heshun-2")
    assert "已转给 和顺社区第二网格" in admin.last_text
    row = await request(bot, reference)
    assert (row.status, row.owner_unit_id) == (
        RequestStatus.transferred,
        await unit_id(bot, "heshun-2"),
    )
    await staff.send(f"/escalate {reference}")
    assert "管理员" in staff.last_text
    await admin.send(f"/escalate {reference}")
    assert "已上报至 和顺社区" in admin.last_text
    row = await request(bot, reference)
    assert (row.status, row.owner_unit_id) == (
        RequestStatus.escalated,
        await unit_id(bot, "heshun"),
    )
    await admin.send("/escalate JM-1999-000001")
    assert "没有找到" in admin.last_text
