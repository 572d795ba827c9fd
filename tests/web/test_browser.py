"""The web chat in a real browser: headless Debian Chromium driven by Playwright.

A resident registers, reports a broken light with a photo, sees the reference number, and
sees the grid staff's status update arrive without reloading. The screenshot goes to
test-output/ (look at it: the Chinese must render).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from bot.services.cases import workflow
from models import ChannelIdentity, Person, Request, utcnow
from tests.web.browser import (
    ARGS,
    BROWSER,
    CHROMIUM,
    OUTPUT,
    Running,
    async_playwright,
    bot_count,
    expect_reply,
    png_bytes,
    press,
    running,
    type_text,
)

pytestmark = BROWSER
OWN_PHOTO = """() => Array.from(document.querySelectorAll('li.msg.mine img'))
    .some(img => img.complete && img.naturalWidth > 0)"""
__all__ = ["running"]  # the fixture


async def test_resident_journey_with_live_staff_update(running: Running, tmp_path: Path) -> None:
    assert async_playwright is not None
    OUTPUT.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            context = await browser.new_context(
                locale="zh-CN", viewport={"width": 400, "height": 860}
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(running.base_url)

            # Demo mode: the start page offers a new resident and the demo people.
            await page.get_by_text("以新居民身份开始").wait_for()
            assert await page.get_by_text("刘晓燕（网格员）").count() == 1
            banner = page.locator("#demo-banner")
            assert await banner.is_visible() and "演示模式" in (await banner.text_content() or "")
            await page.screenshot(path=str(OUTPUT / "web-start.png"))
            await page.get_by_text("以新居民身份开始").click()
            await expect_reply(page, 0, "请选择您所在的街道")  # the page sent /start itself
            menu = await page.locator("#menubar .menu-item").all_text_contents()
            assert menu == ["新诉求", "我的诉求", "☰ 更多"]

            await press(page, "潮海街道", "请选择社区")
            await press(page, "和顺社区", "请选择小区")
            await press(page, "海盛·新阳光地带", "请选择楼号")
            await press(page, "17号楼", "是否留下手机号")
            # No contact card in a browser: the chip asks for the number typed.
            await page.locator("#requests .chip", has_text="填写手机号").click()
            assert "11 位手机号" in (await page.get_attribute("#text", "placeholder") or "")
            await type_text(page, "139 1234 567", "例如 13912345678")  # one digit short
            await type_text(page, "139 1234 5678", "登记完成")

            # Resident text is shown as text: a tag in it neither renders nor runs.
            injected = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
            await type_text(page, "楼道灯坏了好几天了，晚上黑漆漆的 " + injected, "收到")
            mine = page.locator("li.msg.mine .bubble").last
            assert injected in (await mine.text_content() or "")
            assert await page.locator("li.msg img[src='x']").count() == 0

            count = await bot_count(page)
            photo = tmp_path / "light.png"
            photo.write_bytes(png_bytes())
            await page.set_input_files("#photo-input", str(photo))
            await expect_reply(page, count, "收到")
            assert list((tmp_path / "uploads").glob("*.png"))

            await press(page, "✅ 提交", "诉求编号")  # the draft: 照明, the stairwell, 一般
            submitted = page.locator("li.msg.bot .bubble", has_text="诉求编号").last
            text = await submitted.text_content() or ""
            match = re.search(r"诉求编号 (\S+?)。", text)
            assert match, text
            reference = match.group(1)

            # The grid staff accepts it; the push must arrive on the open page.
            await page.evaluate("window.__sameDocument = 'yes'")
            count = await bot_count(page)
            async with running.sessions() as session, session.begin():
                request = (
                    await session.execute(select(Request).where(Request.reference == reference))
                ).scalar_one()
                reporter = await session.get(Person, request.reporter_id)
                assert reporter is not None and reporter.phone == "13912345678"
                staff = (
                    await session.execute(
                        select(Person)
                        .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
                        .where(ChannelIdentity.external_id == "grid-liu")
                    )
                ).scalar_one()
                await workflow.transition(
                    session,
                    request=request,
                    action="accept",
                    actor=staff,
                    now=utcnow(),
                    settings=running.settings,
                )
            await expect_reply(page, count, "已受理")
            update = page.locator("li.msg.bot .bubble", has_text="已受理，网格").last
            assert reference in (await update.text_content() or "")
            assert await page.evaluate("window.__sameDocument") == "yes"
            assert await page.evaluate("window.__pwned") is None
            assert errors == []
            await page.screenshot(path=str(OUTPUT / "web-chat.png"), full_page=False)

            # The resident's own photo survives a reload, and shows in a second tab.
            for shown in (page, await context.new_page()):
                await (shown.reload() if shown is page else shown.goto(running.base_url))
                await shown.wait_for_function(OWN_PHOTO)
            assert await page.evaluate("window.__pwned") is None
        finally:
            await browser.close()
