"""The web chat's time lines read the district's clock (its configured zone, Asia/Shanghai by
default), not the browser's: a visitor abroad sees the times the district's staff see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.web.browser import (
    BROWSER,
    OUTPUT,
    Running,
    bot_count,
    browser_page,
    expect_reply,
    open_as,
    running,
)

pytestmark = BROWSER
__all__ = ["running"]  # the fixture


def clock_labels(zone: str) -> set[str]:
    """ "HH:MM" now in `zone`, a minute either side (the page and the test read the clock apart)."""
    now = datetime.now(UTC)
    return {
        (now + timedelta(minutes=step)).astimezone(ZoneInfo(zone)).strftime("%H:%M")
        for step in (-1, 0, 1)
    }


async def test_time_lines_show_the_districts_clock_in_a_browser_abroad(running: Running) -> None:
    assert running.settings.timezone == "Asia/Shanghai"
    # Eleven or twelve hours from Shanghai: no minute of the day reads the same in both.
    async with browser_page(timezone_id="America/New_York") as (_, page):
        assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == (
            "America/New_York"
        )
        await open_as(page, running.base_url, "张阿姨")
        count = await bot_count(page)
        await page.fill("#text", "/help")
        await page.press("#text", "Enter")
        await expect_reply(page, count, "新诉求")
        labels = await page.locator("li.time").all_text_contents()
        await page.evaluate("document.getElementById('chat').scrollTop = 0")
        await page.screenshot(path=str(OUTPUT / "web-time-abroad.png"))
    assert labels, "no time line"
    assert labels[-1] in clock_labels("Asia/Shanghai"), labels
    assert not set(labels) & clock_labels("America/New_York"), labels
