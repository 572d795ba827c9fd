"""Erasing a reporting unit's liaison: their progress reports (text and photo), the copies in
the linked requests' timelines and in the residents' pushes, and their name are gone; the
unit's project stays, and they no longer act for the unit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.channels.testing import TestChat
from bot.config import Settings
from models import ChannelIdentity, Person, Project, ProjectUpdate, ReportingUnit, UnitLiaison
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin, parking_cluster
from tests.handlers.privacy_journey import dump, hits, marked_files, plant_photo
from tests.handlers.staff_journey import pump

NAME = "联络员甄XL01"
PROGRESS = "已划线，甄联络员电话在门卫XL02"
MARKERS = (NAME, PROGRESS)
UNIQUE = ("XL01", "XL02")


async def _liaison(bot: Bot) -> TestChat:
    async with bot.db.sessions() as session, session.begin():
        person = Person(display_name=NAME, language="zh")
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(
                person_id=person.id,
                channel="test",
                external_id="erase-liaison",
                chat_id="erase-liaison",
            )
        )
        unit = (
            await session.execute(select(ReportingUnit).where(ReportingUnit.code == "zjj"))
        ).scalar_one()
        session.add(UnitLiaison(unit_id=unit.id, person_id=person.id))
    return TestChat(bot.engine, bot.channel, user_id="erase-liaison", display_name=NAME)


async def test_erasing_a_liaison_leaves_no_copy_of_their_progress_reports(
    bot: Bot, settings: Settings, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.webchat.upload_dir = uploads
    photo = plant_photo(uploads)
    admin = await community_admin(bot)
    liaison = await _liaison(bot)
    residents, _references = await parking_cluster(bot)
    await admin.send("/needs")
    await admin.press(next(label for label in admin.buttons if "停车管理" in label))
    await liaison.send("/pledge")
    await liaison.press(liaison.buttons[0])
    await liaison.send("划设规范停车位")
    await liaison.press("跳过")
    await liaison.press("跳过")
    await liaison.press("跳过")
    await liaison.press("✅ 完成")
    await liaison.press("✅ 提交")
    await pump(bot)
    await admin.press("✅ 确认")
    async with bot.db.sessions() as session:
        project = (await session.scalars(select(Project))).one()
    await liaison.send(f"/progress {project.id}")
    await liaison.send_photo(photo.name, caption=PROGRESS)
    await pump(bot)
    assert PROGRESS in residents[0].last_text
    before = hits(await dump(bot.db), MARKERS)
    assert {marker for marker, _ in before} == set(MARKERS)
    assert len(before) >= 4  # the update, a timeline note, the residents' pushes, the name

    await liaison.send("/privacy")
    await liaison.press("🗑 删除我的账户")
    await liaison.press("确定删除")
    assert "已删除" in liaison.last_text

    assert hits(await dump(bot.db), MARKERS + UNIQUE) == []
    assert marked_files(uploads) == []
    async with bot.db.sessions() as session:
        assert (await session.scalars(select(Project))).one().plan == "划设规范停车位"
        update = (await session.scalars(select(ProjectUpdate))).one()
        assert update.text == "[erased]" and update.photo_file_id is None
        assert list(await session.scalars(select(UnitLiaison.person_id))) != []  # others stay
        left = (
            select(UnitLiaison)
            .join(Person, Person.id == UnitLiaison.person_id)
            .where(Person.deleted_at.is_not(None))
        )
        assert list(await session.scalars(left)) == []
