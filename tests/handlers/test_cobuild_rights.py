"""Who may act in dual reporting, tried by everyone in and out of scope: liaisons for their own
unit only, community admins (and those above them) for their community only, members for
themselves, residents where they live; every refusal changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.channels.testing import TestChat
from bot.services.cobuild import actions
from models import Need, Project, ProjectGrade, ProjectUpdate, Role
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, confirmed_member, liaison_chat, move_to
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump, staff_chat

REFUSED = "未做任何更改"


async def _world(bot: Bot) -> dict[str, TestChat]:
    chats = {
        "admin": await community_admin(bot),
        "admin_elsewhere": await community_admin(bot, "dahua"),
        "district_admin": await staff_chat(bot, role=Role.admin, unit="jimo"),
        "grid_staff": await staff_chat(bot),
        "liaison": await liaison_chat(bot, "zjj"),
        "liaison_other_unit": await liaison_chat(bot, "wenquan-group"),
        "resident": bot.chat(),
        "resident_elsewhere": bot.chat(),
    }
    chats["member"] = await confirmed_member(bot, chats["admin"], room="7-707")
    await onboard(chats["resident"], room="4-404")
    await onboard(chats["resident_elsewhere"], room="4-405")
    await move_to(bot, chats["resident_elsewhere"].user_id, "dahua-machinery-dorm")
    await chats["admin"].send("/need 楼道加装扶手")
    return chats


async def _one(bot: Bot, model: type[Need] | type[Project]) -> Need | Project:
    async with bot.db.sessions() as session:
        return (await session.scalars(select(model).order_by(model.id.desc()))).first()  # type: ignore[return-value]


async def _count(bot: Bot, model: type[ProjectUpdate] | type[ProjectGrade]) -> int:
    async with bot.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_pledges_and_their_confirmation(bot: Bot) -> None:
    chats = await _world(bot)
    need = await _one(bot, Need)
    for name in ("resident", "member", "admin", "grid_staff", "district_admin"):
        await chats[name].send(f"/pledge {need.id} 我们来做")
        assert REFUSED in chats[name].last_text, name
    assert await _one(bot, Project) is None
    await chats["liaison"].send(f"/pledge {need.id} 加装扶手 | 6")
    await pump(bot)
    project = await _one(bot, Project)
    assert project is not None and project.unit_id is not None
    for name in (
        "resident",
        "member",
        "liaison",
        "liaison_other_unit",
        "admin_elsewhere",
        "grid_staff",
    ):
        await chats[name].press_data(actions.PROJECT_CONFIRM.data(project.id))
        assert REFUSED in chats[name].last_text, name
    assert (await _one(bot, Project)).status == "pledged"  # type: ignore[union-attr]
    await chats["district_admin"].press_data(actions.PROJECT_CONFIRM.data(project.id))
    assert (await _one(bot, Project)).status == "in_progress"  # type: ignore[union-attr]


async def test_progress_completion_and_grades(bot: Bot) -> None:
    chats = await _world(bot)
    need = await _one(bot, Need)
    await chats["liaison"].send(f"/pledge {need.id} 加装扶手")
    await pump(bot)
    await chats["admin"].press("✅ 确认")
    project = await _one(bot, Project)
    for name in ("liaison_other_unit", "admin", "district_admin", "member", "resident"):
        await chats[name].send(f"/progress {project.id} 已完成一半")
        assert REFUSED in chats[name].last_text, name
        await chats[name].send(f"/complete {project.id} 完工")
        assert REFUSED in chats[name].last_text, name
    assert await _count(bot, ProjectUpdate) == 0
    assert (await _one(bot, Project)).status == "in_progress"  # type: ignore[union-attr]
    await chats["liaison"].send(f"/complete {project.id} 扶手已装好")
    await pump(bot)
    assert any("群众评卷" in m.text for m in chats["member"].messages)  # members live here too
    assert not any("群众评卷" in m.text for m in chats["resident_elsewhere"].messages)
    for name in ("resident_elsewhere", "liaison", "admin_elsewhere"):
        await chats[name].press_data(actions.GRADE.data(project.id, 1))
        assert REFUSED in chats[name].last_text, name
    assert await _count(bot, ProjectGrade) == 0
    await chats["resident"].press_data(actions.GRADE.data(project.id, 5))
    await chats["member"].press_data(actions.GRADE.data(project.id, 4))
    assert await _count(bot, ProjectGrade) == 2


async def test_admin_only_commands(bot: Bot) -> None:
    chats = await _world(bot)
    for name in ("resident", "member", "liaison", "grid_staff"):
        for command in ("/ranking", "/property", "/callout 清扫", "/need 新需求", "/propertypoll"):
            await chats[name].send(command)
            assert REFUSED in chats[name].last_text or "用法" in chats[name].last_text, (
                name,
                command,
            )
    async with bot.db.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Need))).scalar_one() == 1
    for command in (
        "/callout heshun 清扫",
        "/need heshun 新需求",
        "/ranking heshun",
        "/needs heshun",
    ):
        await chats["admin_elsewhere"].send(command)
        assert REFUSED in chats["admin_elsewhere"].last_text, command
    await chats["district_admin"].send("/ranking")
    assert "全区" in chats["district_admin"].last_text
