"""Erased means erased: after /privacy, no copy of a resident's words, photos or contact
details is left anywhere in the database or the upload folder; the statistics still count."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.services.reports import stats
from bot.web import own
from models import Evaluation, Request, RequestEvent, WebOwnMessage
from tests.conftest import Bot
from tests.handlers.privacy_journey import (
    ADDITION,
    COMMENT,
    COMPLAINT,
    MARKERS,
    UNIQUE,
    URGENT,
    dump,
    hits,
    live_through,
    marked_files,
    plant_photo,
)
from tests.handlers.staff_journey import request


@pytest.fixture
def uploads(bot: Bot, tmp_path: Path) -> Path:
    """The web chat's upload folder, for this test only."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings: Settings = bot.engine.settings
    settings.webchat.upload_dir = folder
    return folder


@pytest.fixture
def photo(uploads: Path) -> Path:
    """A photo the resident sent through the web chat."""
    return plant_photo(uploads)


async def _counts(bot: Bot, reference: str) -> stats.Counts:
    row = await request(bot, reference)
    start = row.created_at - timedelta(days=1)
    async with bot.db.sessions() as session:
        found = await stats.request_counts(
            session,
            unit_ids=[row.owner_unit_id],
            start=start,
            end=start + timedelta(days=30),
            now=bot.clock(),
        )
    return found[row.owner_unit_id]


async def test_erase_leaves_no_copy_anywhere(bot: Bot, uploads: Path, photo: Path) -> None:
    # The person's own messages are kept as the web chat keeps them (web_own_messages).
    bot.engine.turn_hooks.append(own.recorder((bot.channel.name,)))
    assert marked_files(uploads) == [photo]
    story = await live_through(bot, photo)
    # Every marker was copied around: the journey is not trivially clean.
    before = hits(await dump(bot.db), MARKERS)
    assert {marker for marker, _ in before} == set(MARKERS)
    assert any(story.staff.user_id in cell for cell in await dump(bot.db))
    async with bot.db.sessions() as session:
        kept = list((await session.execute(select(WebOwnMessage))).scalars())
    assert {m.text for m in kept} >= {COMPLAINT, URGENT, ADDITION, COMMENT}
    assert photo.name in {m.photo for m in kept}
    counted = await _counts(bot, story.reference)
    assert counted.received >= 1 and counted.evaluated == 1

    await story.reporter.send("/privacy")
    await story.reporter.press("🗑 删除我的账户")
    assert "评价留言" in story.reporter.last_text  # what goes and what stays
    await story.reporter.press("确定删除")
    assert "已删除" in story.reporter.last_text

    assert hits(await dump(bot.db), MARKERS + UNIQUE) == []
    assert marked_files(uploads) == []
    # The skeleton stays: category, place, dates, status and the rating's scores.
    assert await _counts(bot, story.reference) == counted
    row = await request(bot, story.reference)
    assert row.building_id is not None and row.closed_at is not None
    async with bot.db.sessions() as session:
        evaluation = (
            await session.execute(select(Evaluation).where(Evaluation.request_id == row.id))
        ).scalar_one()
        assert (evaluation.solved, evaluation.satisfaction) == ("solved", "satisfied")
        events = await session.execute(
            select(RequestEvent).where(RequestEvent.request_id == row.id)
        )
        assert len(list(events.scalars())) >= 5


async def test_staff_read_the_marker_in_their_language(bot: Bot, photo: Path) -> None:
    story = await live_through(bot, photo)
    await story.reporter.send("/privacy")
    await story.reporter.press("🗑 删除我的账户")
    await story.reporter.press("确定删除")
    row = await request(bot, story.reference)
    await story.staff.send(f"/find {story.reference}")
    assert "内容已应本人要求删除" in story.staff.last_text, story.staff.last_text
    assert "[erased]" not in story.staff.last_text
    async with bot.db.sessions() as session:
        stored = await session.get(Request, row.id)
        assert stored is not None and stored.description == "[erased]"
