"""Stewards and admins set the routine checks of compounds without a property company."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.services.dispatch import actions as dispatch_actions
from bot.services.dispatch import upkeep
from handlers.dispatch import upkeep as upkeep_handlers
from models import Compound, Request, Role, UpkeepPlan
from tests.conftest import Bot
from tests.handlers.staff_journey import staff_chat

NOT_ALLOWED = "没有进行此操作的权限"
# Wednesday 2026-12-02, 10:00 in Jimo: a new week and a new month for the sweep.
SWEEP = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


async def _compound(bot: Bot, name: str) -> Compound:
    async with bot.db.sessions() as session:
        stmt = select(Compound).where(Compound.name_zh == name)
        return (await session.execute(stmt)).scalar_one()


async def _checks_made(bot: Bot, compound_id: int) -> list[str]:
    """Sweep once, then the descriptions of the compound's upkeep requests."""
    async with bot.db.sessions() as session, session.begin():
        await upkeep.create_due_upkeep(session, now=SWEEP, settings=bot.engine.settings)
    async with bot.db.sessions() as session:
        stmt = select(Request.description).where(
            Request.compound_id == compound_id, Request.reporter_id.is_(None)
        )
        return sorted((await session.execute(stmt)).scalars())


async def test_a_steward_changes_how_often_a_check_runs_and_switches_one_off(bot: Bot) -> None:
    steward = await staff_chat(bot, role=Role.steward, unit="steward-1")
    await steward.send("/upkeep")
    assert "请选择要设置例行巡检的小区" in steward.last_text
    assert steward.buttons == ["东关巷小院", "和顺巷9号院", "大华机械厂宿舍", "纺织厂宿舍"]
    await steward.press("和顺巷9号院")
    assert "和顺巷9号院 的例行巡检" in steward.last_text
    assert "• 楼道及公共照明检查：每周一次" in steward.last_text
    assert "• 雨水管检查：每月一次" in steward.last_text

    await steward.press("楼道及公共照明检查：改为每月")
    assert "已更新：楼道及公共照明检查，每月一次。" in steward.texts[0]
    assert "• 楼道及公共照明检查：每月一次" in steward.last_text
    await steward.press("雨水管检查：停用")
    assert "• 雨水管检查：已停用" in steward.last_text
    assert "雨水管检查：恢复" in steward.buttons

    lane = await _compound(bot, "和顺巷9号院")
    made = await _checks_made(bot, lane.id)
    assert len(made) == 1 and "楼道及公共照明检查" in made[0] and "2026-12" in made[0]
    # Another compound of the same workstation keeps the defaults.
    yard = await _compound(bot, "东关巷小院")
    defaults = await _checks_made(bot, yard.id)
    assert len(defaults) == 2 and {"照明" in m for m in defaults} == {True, False}

    # Switched on again, it keeps its interval; pressing twice changes nothing more.
    await steward.press("雨水管检查：恢复")
    await steward.press_data(dispatch_actions.UPKEEP_SET.data(lane.id, "rain_pipes", "on"))
    assert "• 雨水管检查：每月一次" in steward.last_text
    async with bot.db.sessions() as session:
        plans = {
            p.kind: (p.every, p.active, p.category_slug)
            for p in (
                await session.execute(select(UpkeepPlan).where(UpkeepPlan.compound_id == lane.id))
            ).scalars()
        }
    assert plans == {
        "lights": ("month", True, "lighting"),
        "rain_pipes": ("month", True, "plumbing"),
    }


async def test_only_stewards_and_admins_over_the_workstation_may_set_checks(bot: Bot) -> None:
    lane = await _compound(bot, "和顺巷9号院")
    other_station = await staff_chat(bot, role=Role.steward, unit="steward-2")
    grid = await staff_chat(bot, role=Role.grid_staff, unit="heshun-1")
    community_admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    district_admin = await staff_chat(bot, role=Role.admin, unit="jimo", language="en")

    await other_station.send("/upkeep")
    assert "和顺巷9号院" not in other_station.buttons and len(other_station.buttons) == 3
    for chat in (other_station, grid, community_admin):
        await chat.press_data(dispatch_actions.UPKEEP_SET.data(lane.id, "lights", "off"))
        assert NOT_ALLOWED in chat.last_text
    await grid.send("/upkeep")
    assert NOT_ALLOWED in grid.last_text
    await community_admin.send("/upkeep")  # an admin, but no workstation below them
    assert "没有需要红管家例行巡检的小区" in community_admin.last_text
    assert await _checks_made(bot, lane.id) != []  # nothing was switched off
    # Forged or stale data: an unknown check, an unknown change, a compound that is not there.
    await district_admin.send("/upkeep")
    assert len(district_admin.buttons) == 11 and "No. 9 Heshun Lane Courtyard" in (
        district_admin.buttons
    )
    for data in (
        dispatch_actions.UPKEEP_SET.data(lane.id, "gutters", "off"),
        dispatch_actions.UPKEEP_SET.data(lane.id, "lights", "daily"),
    ):
        await district_admin.press_data(data)
        assert "button" in district_admin.last_text.lower()
    await district_admin.press_data(dispatch_actions.UPKEEP_COMPOUND.data(999999))
    assert "not found" in district_admin.last_text
    await district_admin.press("No. 9 Heshun Lane Courtyard")
    assert "• Stairwell and common lighting check: weekly" in district_admin.last_text
    await district_admin.press("Stairwell and common lighting check: switch off")
    assert (
        "Updated: Stairwell and common lighting check, switched off." in (district_admin.texts[0])
    )


async def test_many_compounds_are_found_by_part_of_their_name(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upkeep_handlers, "PICK_LIMIT", 3)
    steward = await staff_chat(bot, role=Role.steward, unit="steward-1")
    await steward.send("/upkeep")
    assert "您负责 4 个无物业小区" in steward.last_text
    await steward.send_photo("photo-1")
    assert "请用文字输入小区名称中的几个字" in steward.last_text
    await steward.send("花园")
    assert "没有名称包含这几个字的" in steward.last_text
    await steward.send("宿舍")
    assert steward.buttons == ["大华机械厂宿舍", "纺织厂宿舍"]
    await steward.press("纺织厂宿舍")
    assert "纺织厂宿舍 的例行巡检" in steward.last_text
