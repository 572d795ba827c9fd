"""Steps shared by the erasure and neighbour tests: a resident who plants marker strings in
every field they can fill, a neighbour who says "me too", staff who work the request, and a
dump of the whole database as text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bot.channels.testing import TestChat
from bot.services.cases import actions as cases_actions
from bot.services.cases import workflow
from models import OrgUnit, Person, Request
from tests.conftest import Bot, TestDB
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import pump, request, staff_chat

PHONE = "13912345678"
NAME = "甄秘名XQ01"
ROOM = "7-909XQ02"
COMPLAINT = "楼道灯坏了，甄家门口漆黑一片XQ03"
URGENT = "老人夜里摔倒过XQ04"
ADDITION = "补充：三楼也不亮，甄家后门XQ05"
COMMENT = "师傅很好，甄家满意XQ06"
VOICE = "voice-file-XQ07"
PHOTO_BYTES = b"\xff\xd8\xff\xe0 photo of XQ08"
MARKERS = (PHONE, NAME, ROOM, COMPLAINT, URGENT, ADDITION, COMMENT, VOICE)
# Pieces of the markers a copy could keep (a line, a word of the complaint).
UNIQUE = ("XQ01", "XQ02", "XQ03", "XQ04", "XQ05", "XQ06", "XQ07", PHONE)


@dataclass
class Story:
    reporter: TestChat
    neighbour: TestChat
    staff: TestChat
    reference: str
    photo: Path


async def report_with_everything(chat: TestChat, photo_name: str) -> str:
    """Report an urgent broken light in the flat with text, a photo, a voice note and the room;
    returns the reference."""
    await chat.send(COMPLAINT)
    await chat.send_photo(photo_name)
    await chat.send_voice(VOICE)
    await chat.press("📍 改为自家屋内")  # so the room is asked, and kept
    await chat.press("🚨 紧急")
    await chat.send(URGENT)
    await chat.press("✅ 提交")
    await chat.send(ROOM)
    submitted = next(t for t in chat.texts if "诉求编号" in t)
    return submitted.split("诉求编号 ")[1].split("。")[0]


async def follow(chat: TestChat, reference: str) -> None:
    """A neighbour starts a report of the same kind and says "me too" on `reference`."""
    await chat.send("楼道灯不亮")
    await chat.press(f"我也遇到了 {reference}")


async def staff_does(bot: Bot, staff: TestChat, reference: str, action: str, note: str) -> None:
    """The staff member of `staff` performs an action with a public note."""
    async with bot.db.sessions() as session, session.begin():
        person = await session.get(Person, await _person_id(bot, staff))
        row = await session.get(Request, (await request(bot, reference)).id)
        assert person is not None and row is not None
        await workflow.transition(
            session,
            request=row,
            action=action,
            actor=person,
            now=bot.clock(),
            note=note,
            settings=bot.engine.settings,
        )


async def _person_id(bot: Bot, chat: TestChat) -> int:
    async with bot.db.sessions() as session:
        found = await session.execute(
            text("SELECT person_id FROM channel_identities WHERE external_id = :u"),
            {"u": chat.user_id},
        )
        return int(found.scalar_one())


def plant_photo(upload_dir: Path) -> Path:
    """A photo the web chat stored for the resident, its bytes marked."""
    photo = upload_dir / "0123456789abcdef0123456789abcdef.jpg"
    photo.write_bytes(PHOTO_BYTES)
    return photo


def marked_files(upload_dir: Path) -> list[Path]:
    """Files of the upload folder holding the photo's marker."""
    return [p for p in upload_dir.rglob("*") if p.is_file() and b"XQ08" in p.read_bytes()]


async def reported_and_followed(bot: Bot, photo: Path) -> Story:
    """A resident reports with every field filled, a neighbour follows, staff accept."""
    reporter = TestChat(bot.engine, bot.channel, user_id="erase-me", display_name=NAME)
    await onboard(reporter, phone=PHONE)
    reference = await report_with_everything(reporter, photo.name)
    neighbour = bot.chat()
    await onboard(neighbour)
    await follow(neighbour, reference)
    owner = await request(bot, reference)
    async with bot.db.sessions() as session:
        unit = await session.get(OrgUnit, owner.owner_unit_id)
        assert unit is not None
        code = unit.code
    staff = await staff_chat(bot, unit=code)
    await pump(bot)
    await staff_does(bot, staff, reference, "accept", "")
    return Story(reporter, neighbour, staff, reference, photo)


async def live_through(bot: Bot, photo: Path, *, ask: str = f"已致电 {PHONE}，请补充楼层") -> Story:
    """Register, report, be followed, be asked, add, be resolved, rate: every copy is made."""
    story = await reported_and_followed(bot, photo)
    reporter, staff, reference = story.reporter, story.staff, story.reference
    owner = await request(bot, reference)
    await staff_does(bot, staff, reference, "ask_info", ask)
    await reporter.press_data(cases_actions.ADD_INFO.data(owner.id))
    await reporter.send(ADDITION)
    await reporter.press("✅ 完成")
    await staff_does(bot, staff, reference, "resolve", "已更换灯泡")
    await reporter.press_data(cases_actions.RATE.data(owner.id))
    await reporter.press("已解决")
    await reporter.press("满意")
    await reporter.send(COMMENT)
    await pump(bot)
    return story


async def dump(db: TestDB) -> list[str]:
    """Every cell of every table, as text (JSON both as stored and decoded)."""
    async with db.sessions() as session:
        if db.kind == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        tables = list((await session.execute(text(query))).scalars())
        cells: list[str] = []
        for table in tables:
            for row in await session.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, dict | list):
                        cells.append(json.dumps(value, ensure_ascii=False))
                    elif isinstance(value, bytes):
                        cells.append(value.decode("utf-8", "replace"))
                    elif value is not None:
                        cells.append(str(value))
    return cells


def hits(cells: list[str], markers: tuple[str, ...]) -> list[tuple[str, str]]:
    """(marker, cell) for each cell holding a marker, as typed or JSON-escaped."""
    found = []
    for marker in markers:
        forms = {marker, json.dumps(marker)[1:-1]}
        found += [(marker, cell[:200]) for cell in cells if any(f in cell for f in forms)]
    return found
