"""The web chat in a real browser: headless Debian Chromium driven by Playwright.

A new resident registers by typing (the compound's name, then the phone number), reports a
broken light with a photo, sees the grid staff accept it live, sees their own photo after a
reload, in a second tab and on a second device of the same identity, receives the result
photo the staff member attached in their own browser, and rates. Screenshots go to
test-output/ (look at them: the Chinese must render).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page
from sqlalchemy import select

from models import Evaluation, Person, Request
from tests.web.browser import (
    BROWSER,
    OUTPUT,
    PHONE,
    Running,
    bot_count,
    browser_page,
    expect_reply,
    open_as,
    png_bytes,
    press,
    running,
    staff_resolve_with_photo,
    type_text,
    wait_image,
)

pytestmark = BROWSER
OWN_PHOTO = """() => Array.from(document.querySelectorAll('li.msg.mine img'))
    .some(img => img.complete && img.naturalWidth > 0)"""
__all__ = ["running"]  # the fixture


async def register_by_typing(page: Page) -> None:
    """A new resident: the compound's name typed, the building chosen, the phone typed."""
    await page.get_by_text("以新居民身份开始").click()
    await expect_reply(page, 0, "请选择您所在的街道")  # the page sent /start itself
    assert await page.locator("li.msg.mine").count() == 0  # ...and does not show it as sent
    menu = await page.locator("#menubar .menu-item").all_text_contents()
    assert menu == ["新诉求", "我的诉求", "☰ 更多"]
    await type_text(page, "海盛·新阳光地带", "请选择楼号")
    await press(page, "17号楼", "是否留下手机号")
    # No contact card in a browser: the chip asks for the number typed.
    await page.locator("#requests .chip", has_text="填写手机号").click()
    assert "11 位手机号" in (await page.get_attribute("#text", "placeholder") or "")
    await type_text(page, "139 1234 567", "例如 13912345678")  # one digit short
    await type_text(page, "139 1234 5678", "登记完成")


async def report_with_photo(page: Page, photo: Path) -> str:
    """Type the complaint (with markup that must stay text), add the photo, submit; returns
    the reference."""
    injected = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    await type_text(page, "楼道灯坏了好几天了，晚上黑漆漆的 " + injected, "收到")
    mine = page.locator("li.msg.mine .bubble").last
    assert injected in (await mine.text_content() or "")
    assert await page.locator("li.msg img[src='x']").count() == 0
    count = await bot_count(page)
    await page.set_input_files("#photo-input", str(photo))
    await expect_reply(page, count, "收到")
    await press(page, "✅ 提交", "诉求编号")  # the draft: 照明, the stairwell, 一般
    submitted = page.locator("li.msg.bot .bubble", has_text="诉求编号").last
    text = await submitted.text_content() or ""
    match = re.search(r"诉求编号 (\S+?)。", text)
    assert match, text
    return match.group(1)


async def test_resident_journey_by_typing_through_rating(running: Running, tmp_path: Path) -> None:
    photo = tmp_path / "light.png"
    photo.write_bytes(png_bytes(240, 180))
    result = tmp_path / "result.png"
    result.write_bytes(png_bytes(200, 150))
    async with browser_page() as (browser, page):
        await page.goto(running.base_url)
        # Demo mode: the start page offers a new resident and the demo people.
        await page.get_by_text("以新居民身份开始").wait_for()
        assert await page.get_by_text("刘晓燕（网格员）").count() == 1
        banner = page.locator("#demo-banner")
        assert await banner.is_visible() and "演示模式" in (await banner.text_content() or "")
        await page.screenshot(path=str(OUTPUT / "web-start.png"))
        await register_by_typing(page)
        reference = await report_with_photo(page, photo)
        assert list((tmp_path / "uploads").glob("*.png"))
        async with running.sessions() as session:
            request = (
                await session.execute(select(Request).where(Request.reference == reference))
            ).scalar_one()
            reporter = await session.get(Person, request.reporter_id)
            assert reporter is not None and reporter.phone == "13912345678"
            assert request.building_id is not None
        await page.evaluate("window.__sameDocument = 'yes'")

        # Grid staff work it in their own browser; the resident's page hears of it live.
        staff_context = await browser.new_context(locale="zh-CN", viewport=PHONE)
        staff = await staff_context.new_page()
        await open_as(staff, running.base_url, "刘晓燕（网格员）")
        await expect_reply(staff, 0, reference)
        waited = await bot_count(staff)
        await staff.locator("#menubar .menu-item", has_text="待办").click()
        await expect_reply(staff, waited, "待办诉求共")
        count = await bot_count(page)
        await staff_resolve_with_photo(staff, reference, result)
        await expect_reply(page, count, "已受理")
        await page.get_by_text("处理结果照片").wait_for()
        await wait_image(page, count)  # the result photo staff attached
        assert await page.evaluate("window.__sameDocument") == "yes"
        assert await page.evaluate("window.__pwned") is None
        await page.screenshot(path=str(OUTPUT / "web-resident-result-photo.png"))

        # Rating, by the card's chip.
        await press(page, "评价", "问题解决了吗")
        await press(page, "已解决", "满意吗")
        await press(page, re.compile("^满意$"), "还有什么想说的")  # not 不满意
        await type_text(page, "师傅很快，谢谢", "感谢您对")
        await page.screenshot(path=str(OUTPUT / "web-resident-rated.png"))

        # One conversation: own photo and words after a reload, in a second tab, and on a
        # second device signed in as the same person.
        device = await browser.new_context(
            locale="zh-CN", viewport=PHONE, storage_state=await page.context.storage_state()
        )
        for shown in (page, await page.context.new_page(), await device.new_page()):
            await (shown.reload() if shown is page else shown.goto(running.base_url))
            await shown.locator("li.msg.mine img").first.scroll_into_view_if_needed()
            await shown.wait_for_function(OWN_PHOTO)  # loaded (lazily, once in view)
            await shown.locator("li.msg.mine", has_text="师傅很快，谢谢").wait_for()
            await shown.locator("li.msg.mine", has_text="海盛·新阳光地带").wait_for()
            # One conversation within minutes: one time line, not one per message or source.
            assert await shown.locator("li.time").count() == 1
        await shown.screenshot(path=str(OUTPUT / "web-resident-second-device.png"))
        async with running.sessions() as session:
            rating = (
                await session.execute(select(Evaluation).where(Evaluation.request_id == request.id))
            ).scalar_one()
            assert (rating.solved, rating.satisfaction) == ("solved", "satisfied")
        # Sent on the second device: shown on the first, live.
        await type_text(shown, "/my", "诉求")
        await page.locator("li.msg.mine", has_text="/my").wait_for()
        assert await page.evaluate("window.__pwned") is None
