"""A chip pressed on a card: the updated card comes below the press, where the person looks
for the answer (not above it, off screen, with their press the last thing they see)."""

from __future__ import annotations

from tests.web.browser import (
    BROWSER,
    OUTPUT,
    Running,
    browser_page,
    open_as,
    png_bytes,
    press,
    running,
    seed_request,
)

pytestmark = BROWSER
__all__ = ["running"]  # the fixture
LAST = (
    "() => { const items = document.querySelectorAll('#log > li.msg'); "
    "const last = items[items.length - 1]; return [last.className, last.textContent]; }"
)


async def test_the_answer_to_a_pressed_chip_shows_below_it(running: Running) -> None:
    request = await seed_request(running, "zhang-ayi", png_bytes(240, 180))
    async with browser_page() as (_browser, page):
        await open_as(page, running.base_url, "刘晓燕（网格员）")
        await page.locator("li.msg.bot", has_text=request.reference).first.wait_for()
        await press(page, "签收", "已签收", "受理")
        accepted = page.locator("li.msg.bot", has_text="已签收诉求")
        for shown in ("live", "reloaded"):
            kind, text = await page.evaluate(LAST)
            assert "bot" in kind and "已签收" in text, (shown, kind, text)
            assert await accepted.count() == 1, shown  # moved, not copied
            # The card keeps the resident's photo: an edit changes words and buttons only.
            assert await accepted.locator("img").count() == 1, shown
            if shown == "live":
                await page.screenshot(path=str(OUTPUT / "web-staff-accepted.png"))
                await page.reload()  # the same from the history
                await accepted.wait_for()
