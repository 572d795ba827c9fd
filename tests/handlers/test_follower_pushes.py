"""A follower ("我也遇到了") is told what happens without being asked for what only the reporter
can do: every push a follower gets is pressed, button by button, and each press works."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Bot
from tests.handlers.privacy_journey import live_through, plant_photo
from tests.handlers.staff_journey import pump

REFUSED = "没有找到这条诉求，或它不属于您。"


async def test_every_follower_push_and_its_buttons_work(bot: Bot, tmp_path: Path) -> None:
    story = await live_through(bot, plant_photo(tmp_path), ask="请补充是哪一层")
    await pump(bot)
    neighbour = story.neighbour
    pushes = [m for m in neighbour.messages if story.reference in m.text]
    texts = [m.text for m in pushes]
    assert any("已办结" in t for t in texts) and any("补充信息" in t for t in texts)
    assert not any("请评价" in t or "需要您补充" in t for t in texts)  # only the reporter can
    for push in pushes:
        for row in push.buttons:
            for button in row:
                answers = await neighbour.press_data(button.data)
                assert all(REFUSED not in a.text for a in answers), (push.text, button.label)
    # The reporter is still asked, with the button that works for them.
    resolved = next(m for m in story.reporter.messages if "已办结，请评价" in m.text)
    assert [b.label for row in resolved.buttons for b in row] == ["评价"]
