"""The article's story of dual reporting, as one whole conversation: the housing bureau
(区住建局) is paired with 和顺社区 in the district file; its in-service members report in and
are confirmed and serve hours; the community publishes needs, one raised from a cluster of
parking requests; the bureau pledges projects; progress reaches the residents and the linked
requests; the residents grade; the board, the ranking and the workbook show the result."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.config import Settings
from models import Need, Project
from tests.conftest import Bot
from tests.handlers.cobuild_journey import (
    community_admin,
    confirmed_member,
    liaison_chat,
    parking_cluster,
)
from tests.handlers.staff_journey import pump
from tests.handlers.staff_journey import request as load_request


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.stats.export_dir = tmp_path


async def _ids(bot: Bot, model: type[Need] | type[Project]) -> list[int]:
    async with bot.db.sessions() as session:
        return list((await session.scalars(select(model.id).order_by(model.id))).all())


async def _members_serve(bot: Bot, admin: object) -> None:
    """Two bureau members report in, are confirmed, answer a call and have hours confirmed."""
    members = [await confirmed_member(bot, admin) for _ in range(2)]  # type: ignore[arg-type]
    await admin.send("/callout 垃圾分类宣传志愿服务 | 11-28 09:00 | 海盛·新阳光地带")  # type: ignore[attr-defined]
    await pump(bot)
    for member, hours in zip(members, ("3", "2"), strict=True):
        await member.press("🙋 我报名")
        activity_id = member.last_text.split("/hours ")[1].split(" ")[0]
        await member.send(f"/hours {activity_id} {hours}")
        await pump(bot)
        await admin.press("✅ 确认")  # type: ignore[attr-defined]


async def test_the_housing_bureau_answers_the_community_and_the_residents_grade(bot: Bot) -> None:
    admin = await community_admin(bot)
    bureau = await liaison_chat(bot, "zjj")
    await _members_serve(bot, admin)

    # The community sets the exam: a need from the parking cluster, and a typed one.
    residents, references = await parking_cluster(bot)
    await admin.send("/needs")
    await admin.press(next(label for label in admin.buttons if "停车管理" in label))
    await admin.send("/need 垃圾分类示范社区建设")
    parking_need, waste_need = await _ids(bot, Need)

    # The bureau answers: two projects, both confirmed by the community.
    await bureau.send(
        f"/pledge {parking_need} 划设规范停车位200余个 | 30 | 2026-11-25 | 2026-12-10"
    )
    await pump(bot)
    await admin.press("✅ 确认")
    await bureau.send(f"/pledge {waste_need} 垃圾分类示范社区 | 10 | 2026-12-01 | 2027-03-01")
    await pump(bot)
    await admin.press("✅ 确认")
    parking_project, _waste_project = await _ids(bot, Project)

    # Progress with a photo reaches the residents and the linked requests.
    await bureau.send(f"/progress {parking_project}")
    await bureau.send_photo("photo-parking", caption="增设停车位设备98套")
    await pump(bot)
    assert residents[0].messages[-1].photo == "photo-parking"
    await residents[0].send("/my")
    await residents[0].press(next(b for b in residents[0].buttons if references[0] in b))
    assert "增设停车位设备98套" in residents[0].last_text

    # Completion resolves the requests; their reporters judge them as usual.
    await bureau.send(f"/complete {parking_project} 划设停车位200余个，修补积水破损路面2处")
    await pump(bot)
    for reference in references:
        assert (await load_request(bot, reference)).status == "resolved"
    assert any("划设停车位200余个" in m.text for m in residents[1].messages)

    # The residents grade: counted only after the grading closes.
    for resident, stars in zip(residents, ("⭐⭐⭐⭐⭐", "⭐⭐⭐⭐"), strict=False):
        await resident.press(stars)
    await residents[2].send("/board")
    assert "【已完成】区住建局" in residents[2].texts[0] and "居民评分" not in residents[2].texts[0]
    assert "【实施中】区住建局：垃圾分类示范社区建设" in residents[2].texts[0]
    bot.clock.advance(days=8)
    await residents[2].send("/menu")
    await residents[2].press("🤝 社区共建")
    assert "居民评分 4.5 分（2 户）" in residents[2].texts[0]

    # The ranking and the workbook show the result.
    await admin.send("/ranking")
    ranking = admin.last_text
    assert ranking.index("区住建局") < ranking.index("温泉建设集团")
    assert "居民评分 4.5｜按期完成 100%｜党员服务 5 小时" in ranking
    await admin.send("/export heshun 2026")  # the year: the hours were in November
    cobuild = next(m for m in admin.new_messages if (m.document_name or "").startswith("cobuild"))
    assert cobuild.document is not None
    content = await asyncio.to_thread(Path(cobuild.document).read_bytes)
    book = load_workbook(io.BytesIO(content))
    units = list(book["units"].iter_rows(values_only=True))
    assert units[1][:3] == (1, "zjj", "区住建局") and units[1][4:7] == (2, 5, 4.5)
    projects = list(book["projects"].iter_rows(values_only=True))
    assert projects[1][7] == "done" and projects[1][9:] == (4.5, 2)
    members = list(book["members"].iter_rows(values_only=True))
    assert sorted(row[5] for row in members[1:]) == [2, 3]
    hours = list(book["hours"].iter_rows(values_only=True))
    assert hours[0][:4] == ("activity", "title", "starts", "place")
    assert {row[2:4] for row in hours[1:]} == {(datetime(2026, 11, 28, 9, 0), "海盛·新阳光地带")}
    needs = list(book["needs"].iter_rows(values_only=True))
    assert needs[1][2:] == ("海盛·新阳光地带：停车管理", "done", 0, 2)
