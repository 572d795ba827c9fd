"""The upload sweep, on SQLite and PostgreSQL: files no row refers to go after a day; files a
request, a volunteer task, a broadcast or a flow in progress names stay."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import files, scheduler
from bot.config import Settings, load_settings
from bot.services.storage import attachments
from models import Broadcast, RequestPhoto, VolunteerTask
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light


def _upload(folder: Path, age: timedelta, bot: Bot, suffix: str = "jpg") -> str:
    """A stored upload last written `age` before the bot's clock."""
    folder.mkdir(exist_ok=True)
    name = f"{uuid.uuid4().hex}.{suffix}"
    path = folder / name
    path.write_bytes(b"\xff\xd8\xff photo")
    written = (bot.clock() - age).timestamp()
    os.utime(path, (written, written))
    return name


def _settings(folder: Path) -> Settings:
    return load_settings(webchat={"upload_dir": str(folder)})


async def test_the_sweep_deletes_old_uploads_no_row_refers_to(
    bot: Bot, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "uploads"
    day = timedelta(hours=25)
    orphan, young_orphan = _upload(folder, day, bot), _upload(folder, timedelta(hours=2), bot)
    in_request, in_draft = _upload(folder, day, bot, "png"), _upload(folder, day, bot, "webp")
    in_task, in_broadcast = _upload(folder, day, bot), _upload(folder, day, bot)
    not_ours = folder / "README.txt"
    not_ours.write_text("kept")
    os.utime(not_ours, (0, 0))

    reporter = bot.chat()
    await onboard(reporter)
    await reporter.send("楼道灯坏了")
    await reporter.send_photo(in_request)
    await report_light(reporter, "还是坏的")
    drafting = bot.chat()
    await onboard(drafting)
    await drafting.send("楼道灯坏了")
    await drafting.send_photo(in_draft)  # not submitted yet: in the chat's scratch data
    async with bot.db.sessions() as session, session.begin():
        kept = select(RequestPhoto.file_id).where(RequestPhoto.file_id == in_request)
        assert (await session.scalars(kept)).all() == [in_request]
        session.add(VolunteerTask(photos=["other.jpg", in_task]))
        session.add(Broadcast(target_kind="compound", target_id=1, photo=in_broadcast))

    deleted = await scheduler.run_job(
        "upload_sweep", sessions=bot.db.sessions, settings=_settings(folder), clock=bot.clock
    )

    assert deleted == 1
    left = {path.name for path in folder.iterdir()}
    assert left == {young_orphan, in_request, in_draft, in_task, in_broadcast, "README.txt"}
    assert orphan not in left


async def test_fetched_copies_of_telegram_photos_expire_and_go_with_their_rows(
    bot: Bot, tmp_path: Path
) -> None:
    """The web chat's copies of photos Telegram keeps: fetched again when next opened, so
    the sweep lets them expire; erasing the photo's row deletes its copy at once."""
    folder = tmp_path / "uploads"
    old, fresh, erased = (attachments.cached_copy(folder, f"AgAD-{n}") for n in range(3))
    for path, age in ((old, timedelta(hours=25)), (fresh, timedelta(hours=2)), (erased, None)):
        files.write_private(path, b"\xff\xd8\xff photo")
        if age is not None:
            written = (bot.clock() - age).timestamp()
            os.utime(path, (written, written))
    await scheduler.run_job(
        "upload_sweep", sessions=bot.db.sessions, settings=_settings(folder), clock=bot.clock
    )
    assert (old.exists(), fresh.exists()) == (False, True)
    assert attachments.delete_files(folder, ["AgAD-2"]) == 1 and not erased.exists()


async def test_the_sweep_is_a_scheduled_job(settings: Settings) -> None:
    assert "upload_sweep" in scheduler.enabled_jobs(settings)
    assert scheduler.job_settings(settings, "upload_sweep").every_seconds == 3600
