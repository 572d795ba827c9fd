"""The units answer and the residents grade: a paired unit's liaison pledges a project for a
need raised from parking requests, the community confirms, progress with a photo reaches the
residents and the requests' timelines, completion resolves the requests and opens the grading;
liaisons act for their own unit only, admins for their own community only."""

from __future__ import annotations

from sqlalchemy import select

from bot import scheduler
from bot.config import Settings
from bot.services.cobuild import actions
from models import Need, OutboxMessage, Project, ProjectGrade, RequestEvent
from tests.conftest import Bot
from tests.handlers.cobuild_journey import (
    community_admin,
    liaison_chat,
    parking_cluster,
    report_in_own_flat,
)
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump
from tests.handlers.staff_journey import request as load_request


async def _project(bot: Bot) -> Project:
    async with bot.db.sessions() as session:
        return (await session.scalars(select(Project).order_by(Project.id.desc()))).first()  # type: ignore[return-value]


async def _grading_sweep(bot: Bot, settings: Settings) -> int:
    return await scheduler.run_job(
        "cobuild_grading", sessions=bot.db.sessions, settings=settings, clock=bot.clock
    )


async def test_a_project_pledged_confirmed_reported_completed_and_graded(
    bot: Bot, settings: Settings
) -> None:
    admin = await community_admin(bot)
    other_admin = await community_admin(bot, "dahua")
    liaison = await liaison_chat(bot, "zjj")
    stranger_liaison = await liaison_chat(bot, "wenquan-group")
    residents, references = await parking_cluster(bot)
    await report_in_own_flat(residents[2], "2-303")  # a leak: no cluster, the room kept
    await admin.send("/needs")
    await admin.press(next(label for label in admin.buttons if "停车管理" in label))
    async with bot.db.sessions() as session:
        need = (await session.scalars(select(Need))).one()

    await residents[0].send(f"/pledge {need.id} 我来划线")
    assert "未做任何更改" in residents[0].last_text
    await liaison.send("/pledge")  # the guided form (tests/handlers/test_cobuild_pledge_flow.py)
    assert any(label.startswith(f"#{need.id} ") for label in liaison.buttons)
    await liaison.send("/cancel")
    await liaison.send(f"/pledge {need.id} 划线 | 三十人")
    assert "用法" in liaison.last_text
    await liaison.send(
        f"/pledge {need.id} 划设规范停车位200余个 | 30 | 2026-11-25 | 2026-12-10 | 划线机"
    )
    assert "等待社区确认" in liaison.last_text
    await pump(bot)
    assert "划设规范停车位200余个" in admin.last_text and admin.buttons == ["✅ 确认", "✖ 不同意"]
    project = await _project(bot)
    for intruder in (other_admin, liaison, residents[0]):
        await intruder.press_data(actions.PROJECT_CONFIRM.data(project.id))
        assert "未做任何更改" in intruder.last_text
    assert (await _project(bot)).status == "pledged"
    await admin.press("✅ 确认")
    assert "已确认项目" in admin.last_text
    await pump(bot)
    assert "可以开工" in liaison.last_text

    # Progress, with a photo: the residents in scope and the linked requests hear of it.
    await stranger_liaison.send(f"/progress {project.id} 别人的项目")
    assert "未做任何更改" in stranger_liaison.last_text
    await liaison.send(f"/progress {project.id}")
    assert "照片" in liaison.last_text
    await liaison.send_photo("photo-lines", caption="已划线100个车位")
    assert "已推送给" in liaison.last_text
    await pump(bot)
    pushed = residents[1].messages[-1]
    assert "已划线100个车位" in pushed.text and pushed.photo == "photo-lines"
    async with bot.db.sessions() as session:  # pushes carry their kind (WeChat's templates)
        kinds = {
            row.payload.get("kind")
            for row in await session.scalars(select(OutboxMessage).where(~OutboxMessage.is_reply))
            if "menu" not in row.payload
        }
    assert {"cobuild", "status"} <= kinds and None not in kinds  # replies have none
    request = await load_request(bot, references[1])
    async with bot.db.sessions() as session:
        query = select(RequestEvent).where(
            RequestEvent.request_id == request.id, RequestEvent.kind == "cobuild_progress"
        )
        assert "已划线100个车位" in (await session.scalars(query)).one().note
    await residents[1].send("/my")
    await residents[1].press(
        next(label for label in residents[1].buttons if references[1] in label)
    )
    assert "已划线100个车位" in residents[1].last_text

    # Completion resolves the linked requests and asks the households to grade.
    await liaison.send(f"/complete {project.id}")
    assert "用法" in liaison.last_text
    await liaison.send(f"/complete {project.id} 已划设停车位200余个，增设停车设备98套")
    assert "2 件关联诉求已办结" in liaison.last_text
    for reference in references:
        assert (await load_request(bot, reference)).status == "resolved"
    await pump(bot)
    assert any("群众评卷" in m.text for m in residents[2].messages)
    await residents[2].press("⭐⭐⭐⭐⭐")
    assert "5 星" in residents[2].last_text
    await residents[2].send("车好停多了")
    assert "评价已记录" in residents[2].last_text
    await residents[2].press_data(actions.GRADE.data(project.id, 1))
    assert "每户一次" in residents[2].last_text
    outsider = bot.chat()
    await onboard(outsider)
    await other_admin.press_data(actions.GRADE.data(project.id, 1))  # no address
    assert "未做任何更改" in other_admin.last_text
    await residents[0].press_data(actions.GRADE.data(project.id, 9))
    assert "1到5星" in residents[0].last_text
    await residents[0].press_data(actions.GRADE.data(project.id, 4))
    async with bot.db.sessions() as session:
        grades = list(await session.scalars(select(ProjectGrade).order_by(ProjectGrade.id)))
    assert [(g.score, g.comment) for g in grades] == [(5, "车好停多了"), (4, "")]
    assert grades[0].household.endswith(":2-303")
    await liaison.send(f"/progress {project.id} 还在做")
    assert "不在实施中" in liaison.last_text

    bot.clock.advance(days=8)
    await residents[0].press_data(actions.GRADE.data(project.id, 3))
    assert "评分已结束" in residents[0].last_text

    # The grading closed: those who graded, the unit's liaisons and the community's admins
    # hear the result once; a resident who did not grade hears nothing.
    heard_before = len(residents[1].messages)
    assert await _grading_sweep(bot, settings) == 1
    assert await _grading_sweep(bot, settings) == 0
    await pump(bot)
    for chat in (residents[0], residents[2], liaison, admin):
        assert "群众评卷结束" in chat.last_text and "平均 4.5 分（2 户评分）" in chat.last_text
    assert len(residents[1].messages) == heard_before
    assert "群众评卷结束" not in stranger_liaison.last_text
    assert "群众评卷结束" not in other_admin.last_text

    # Erasing the grader's data erases their comment and their room in the household key.
    await residents[2].send("/privacy")
    await residents[2].press("🗑 删除我的账户")
    await residents[2].press("确定删除")
    async with bot.db.sessions() as session:
        erased = (await session.scalars(select(ProjectGrade).order_by(ProjectGrade.id))).first()
    assert erased is not None and erased.comment == "[erased]"
    assert erased.household.startswith("erased:") and erased.score == 5


async def test_a_liaison_pledges_only_for_communities_their_unit_is_paired_with(bot: Bot) -> None:
    dahua_admin = await community_admin(bot, "dahua")
    liaison = await liaison_chat(bot, "zjj")  # paired with 和顺社区 only
    await dahua_admin.send("/need 大华机械厂宿舍门禁升级")
    async with bot.db.sessions() as session:
        need = (await session.scalars(select(Need))).one()
    await liaison.send(f"/pledge {need.id} 门禁升级")
    assert "未做任何更改" in liaison.last_text
    crcc = await liaison_chat(bot, "crcc-shandong")  # paired with 大华社区 too
    await crcc.send(f"/pledge {need.id} 门禁升级 | 5")
    assert "等待社区确认" in crcc.last_text
