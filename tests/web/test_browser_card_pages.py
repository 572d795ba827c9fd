"""A staff card's actions in the web chat: four and 更多操作 on the card, the rest a page of
chips at a time in the same message (screenshots in test-output/)."""

from __future__ import annotations

from tests.web.browser import (
    BROWSER,
    OUTPUT,
    Running,
    bot_count,
    browser_page,
    expect_reply,
    open_as,
    png_bytes,
    press,
    running,
    seed_request,
)

pytestmark = BROWSER
__all__ = ["running"]  # the fixture
CARD_CHIPS = "li.msg.bot:last-child .chip"


async def test_more_actions_open_a_page_of_chips_at_a_time(running: Running) -> None:
    request = await seed_request(running, "zhang-ayi", png_bytes())
    async with browser_page() as (_, page):
        await open_as(page, running.base_url, "刘晓燕（网格员）")
        await expect_reply(page, 0, request.reference)
        count = await bot_count(page)
        await page.locator("#menubar .menu-item", has_text="待办").click()
        await expect_reply(page, count, "待办诉求共")
        await press(page, request.reference, "签收")
        await press(page, "签收", "已签收")
        card = await page.locator(CARD_CHIPS).all_text_contents()
        assert card[-2:] == ["更多操作", "📋 待办列表"] and len(card) <= 6, card
        await press(page, "更多操作", "关注人数")
        first = await page.locator(CARD_CHIPS).all_text_contents()
        await page.screenshot(path=str(OUTPUT / "web-staff-more-actions.png"))
        assert first[:2] == ["内部备注", "请居民补充"] and first[-2:] == ["其他操作 ▸", "◀ 收起"]
        assert len(first) == 6, first
        # The card was edited, not repeated: one message with these chips.
        assert await page.locator("li.msg.bot", has_text="关注人数").count() == 1
        await press(page, "其他操作 ▸", "关注人数")
        second = await page.locator(CARD_CHIPS).all_text_contents()
        assert "转办" in second and second[-1] == "◀ 收起" and len(second) <= 6, second
        assert not set(first[:4]) & set(second)
        await press(page, "◀ 收起", "关注人数")
        assert await page.locator(CARD_CHIPS).all_text_contents() == card
