"""Neighbours never see a resident's own words: a follower's every view and push shows the
category, place, status, dates and public staff notes only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.cases import actions as cases_actions
from bot.services.reports import digests
from tests.conftest import Bot
from tests.handlers.privacy_journey import (
    ADDITION,
    COMMENT,
    COMPLAINT,
    URGENT,
    live_through,
    plant_photo,
    reported_and_followed,
)
from tests.handlers.staff_journey import pump, request

WORDS = (COMPLAINT, ADDITION, COMMENT, URGENT, "XQ03", "XQ04", "XQ05", "XQ06")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return plant_photo(tmp_path)


def _leaks(texts: list[str]) -> list[str]:
    return [text for text in texts if any(word in text for word in WORDS)]


async def test_a_follower_sees_no_word_of_the_reporter(bot: Bot, photo: Path) -> None:
    story = await live_through(bot, photo, ask="请补充是哪一层")
    neighbour = story.neighbour
    row = await request(bot, story.reference)
    await neighbour.press_data(cases_actions.MY_REQUEST.data(row.id))
    view = neighbour.last_text
    assert story.reference in view and "已更换灯泡" in view and "请补充是哪一层" in view
    await neighbour.send("/my")
    received = [m.text for m in neighbour.messages]
    # The follower heard of the changes (resumed after the addition, closed after the rating).
    assert sum(story.reference in text for text in received) >= 4
    assert _leaks(received) == []
    # The reporter and the staff still read them.
    assert any(ADDITION in text for text in (m.text for m in story.staff.messages))
    await story.reporter.press_data(cases_actions.MY_REQUEST.data(row.id))
    assert ADDITION in story.reporter.last_text and COMMENT in story.reporter.last_text


async def test_a_followers_digest_names_the_category_not_the_words(bot: Bot, photo: Path) -> None:
    story = await reported_and_followed(bot, photo)
    before = len(story.neighbour.messages)
    async with bot.db.sessions() as session, session.begin():
        sent = await digests.resident_digest(
            session, now=bot.clock.advance(days=1), settings=bot.engine.settings
        )
    assert sent == 2
    await pump(bot)
    digest = [m.text for m in story.neighbour.messages[before:]]
    assert any(story.reference in text and "照明" in text for text in digest), digest
    assert _leaks(digest) == []
    assert any(COMPLAINT in m.text for m in story.reporter.messages[-1:])
