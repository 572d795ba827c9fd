"""Grid staff and admins in a real browser, on a phone viewport: the staff member sees the
resident's photo on the request card and resolves it with a result photo the resident
receives; the admin's /stats shows the chart as a picture and /export downloads workbooks
that open, through links nobody else can use. Screenshots go to test-output/."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from bot.messages import Outgoing
from bot.outbox import enqueue
from bot.services.cases import workflow
from models import ChannelIdentity, Person, Request, utcnow
from tests.web.browser import (
    BROWSER,
    OUTPUT,
    PHONE,
    Running,
    bot_count,
    browser_page,
    expect_reply,
    open_as,
    person_id,
    png_bytes,
    press,
    running,
    seed_request,
    serious_violations,
    type_text,
    wait_image,
)

pytestmark = BROWSER
__all__ = ["running"]  # the fixture


async def test_grid_staff_sees_the_photo_and_resolves_with_one(
    running: Running, tmp_path: Path
) -> None:
    request = await seed_request(running, "zhang-ayi", png_bytes(240, 180))
    async with browser_page() as (browser, page):
        await open_as(page, running.base_url, "刘晓燕（网格员）")
        # Staff open on their queue, with their own menu; no resident welcome.
        await expect_reply(page, 0, request.reference)
        await wait_image(page)  # the new request's card carries the resident's photo
        assert await page.locator("#menubar .menu-item").all_text_contents() == [
            "待办",
            "查找",
            "☰ 更多",
        ]
        assert await page.get_by_text("请选择您所在的街道").count() == 0
        assert await page.locator("#subtitle").text_content() == "网格员 · 工作台"
        assert await page.locator("#requests .chip").count() == 0
        count = await bot_count(page)
        await page.locator("#menubar .menu-item", has_text="待办").click()  # no typing
        await expect_reply(page, count, "待办诉求共")
        count = await bot_count(page)
        await press(page, request.reference, "签收")  # the queue becomes the request's card
        await wait_image(page, count)
        card = page.locator("li.msg.bot", has_text="关注人数").last
        assert f"【{request.reference}】待签收" in (await card.text_content() or "")
        await page.screenshot(path=str(OUTPUT / "web-staff-card.png"))
        await page.locator("li.msg.bot .thumb").last.click()  # tap: full size
        assert await page.locator("#viewer").is_visible()
        await page.keyboard.press("Escape")
        assert not await page.locator("#viewer").is_visible()
        await press(page, "签收", "已签收", "受理")
        await press(page, "办结", "办理结果")
        await type_text(page, "已更换楼道灯泡", "已收到")
        result = tmp_path / "result.png"
        result.write_bytes(png_bytes(200, 150))
        count = await bot_count(page)
        await page.set_input_files("#photo-input", str(result))
        await expect_reply(page, count, "照片 1 张")
        await press(page, "✅ 完成", "已办结", "办结")

        # The resident receives the result photo.
        context = await browser.new_context(locale="zh-CN", viewport=PHONE)
        resident = await context.new_page()
        await open_as(resident, running.base_url, "张阿姨")
        await resident.get_by_text("处理结果照片").wait_for()
        await wait_image(resident)
        await resident.screenshot(path=str(OUTPUT / "web-resident-result.png"))


async def _worked(running: Running, request: Request, steps: tuple[str, ...]) -> None:
    """The grid staff member takes these workflow steps on the request, now."""
    staff_id = await person_id(running, "grid-liu")
    async with running.sessions() as session, session.begin():
        row = await session.get(Request, request.id)
        staff = await session.get(Person, staff_id)
        assert row is not None and staff is not None
        for step in steps:
            await workflow.transition(
                session,
                request=row,
                action=step,
                actor=staff,
                now=utcnow(),
                note="已处理" if step == "resolve" else "",
                settings=running.settings,
            )


def bar_pixels(png: bytes) -> int:
    """How many pixels of the chart are in the first series' colour (matplotlib's C0): bars,
    not just the legend's swatch."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    return sum(1 for x in range(width) for y in range(height) if pixels[x, y] == (31, 119, 180))


async def test_admin_gets_the_chart_and_workbooks(running: Running) -> None:
    # This month's requests in the admin's community: the chart has bars to draw.
    for reporter, steps in (
        ("zhang-ayi", ("accept", "contact", "resolve")),
        ("li-shushu", ("accept", "contact")),
        ("ma-daye", ("accept",)),
    ):
        request = await seed_request(running, reporter, png_bytes(240, 180))
        await _worked(running, request, steps)
    async with browser_page() as (browser, page):
        await open_as(page, running.base_url, "陈静（和顺社区党委）")
        await wait_image(page)  # admins open on the stats: the chart is a picture
        menu = await page.locator("#menubar .menu-item").all_text_contents()
        assert menu == ["统计", "广播", "☰ 更多"]
        chart = page.locator("li.msg.bot img").last
        src = await chart.get_attribute("src")
        assert src
        fetched = await page.request.get(running.base_url + src)
        assert fetched.headers["content-type"] == "image/png"
        drawn = await fetched.body()
        assert drawn.startswith(b"\x89PNG")
        assert Image.open(io.BytesIO(drawn)).size[0] >= 800  # the chart, not an icon
        assert bar_pixels(drawn) > 3000, "an empty chart: only the legend's swatch"
        await page.screenshot(path=str(OUTPUT / "web-admin-stats.png"))
        await chart.click()  # full size: the Chinese labels readable
        await page.locator("#viewer img").wait_for()
        await page.screenshot(path=str(OUTPUT / "web-admin-chart-full.png"))
        await page.keyboard.press("Escape")

        await page.locator("#menubar .more-toggle").click()
        count = await bot_count(page)
        await page.locator("#more .more-item", has_text="/export").click()
        await expect_reply(page, count, "xlsx")
        card = page.locator("a.file").first
        await card.wait_for()
        async with page.expect_download() as waiting:
            await card.click()
        download = await waiting.value
        saved = await download.path()
        workbook = load_workbook(io.BytesIO(saved.read_bytes()))
        assert workbook.sheetnames
        await page.screenshot(path=str(OUTPUT / "web-admin-export.png"))
        link = await card.get_attribute("href")
        assert link

        # Another person's browser cannot use the link.
        other = await browser.new_context(locale="zh-CN", viewport=PHONE)
        stranger = await other.new_page()
        await open_as(stranger, running.base_url, "Zhao Ming (district admin)")
        refused = await stranger.request.get(running.base_url + link)
        assert refused.status == 404
        mine = await page.request.get(running.base_url + link)
        assert mine.status == 200


async def test_resident_and_staff_screens_have_no_serious_accessibility_violations(
    running: Running,
) -> None:
    await seed_request(running, "zhang-ayi", png_bytes(240, 180))
    for person, ready in (("张阿姨", "li.msg.bot"), ("刘晓燕（网格员）", "li.msg.bot img")):
        async with browser_page(bypass_csp=True) as (_browser, page):
            await page.goto(running.base_url)
            await page.get_by_text(person).wait_for()
            assert await serious_violations(page) == [], "start page"
            await open_as(page, running.base_url, person)
            await page.locator(ready).first.wait_for()
            await page.locator("#menubar .more-toggle").click()  # the open menu too
            assert await serious_violations(page) == [], person


async def test_the_input_box_keeps_refused_text_and_used_chips_grey(running: Running) -> None:
    async with browser_page() as (_browser, page):
        await open_as(page, running.base_url, "张阿姨")
        await page.locator("li.msg.bot .chip").first.wait_for()
        await page.fill("#text", "第一行")
        await page.press("#text", "Shift+Enter")  # a new line, not a send
        await page.keyboard.type("第二行")
        assert await page.input_value("#text") == "第一行\n第二行"
        too_long = "楼道灯坏了" * 1000  # past requests.max_text_length
        await page.fill("#text", too_long)
        await page.click("#send")
        await page.locator("li.system", has_text="太长").wait_for()
        assert await page.input_value("#text") == too_long  # kept, to shorten
        assert await page.evaluate("document.activeElement.id") == "text"
        assert await page.locator("li.msg.mine").count() == 0  # not shown as sent

        chip = page.locator("li.msg.bot .chip").first
        count = await bot_count(page)
        await chip.click()
        await expect_reply(page, count, "")
        assert "used" in (await chip.get_attribute("class") or "")
        await chip.click(force=True)  # aria-disabled: only a forced click gets through
        await page.locator("li.system", has_text="已经用过").wait_for()
        await page.reload()  # still grey after a reload
        await page.locator("li.msg.bot .chip.used").first.wait_for()


async def _push(running: Running, external_id: str, text: str) -> None:
    async with running.sessions() as session, session.begin():
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == external_id)
            )
        ).scalar_one()
        await enqueue(
            session,
            channel=identity.channel,
            chat_id=identity.chat_id,
            message=Outgoing(text=text),
            person_id=identity.person_id,
            urgent=True,
        )


async def test_a_push_while_reading_back_shows_a_marker(running: Running) -> None:
    async with browser_page() as (_browser, page):
        await open_as(page, running.base_url, "张阿姨")
        await page.locator("li.msg.bot").first.wait_for()
        assert await page.locator("li.time").count() >= 1  # the conversation's first time line
        for number in range(6):
            await _push(running, "zhang-ayi", f"通知 {number}\n" + "社区公告内容。" * 20)
        await page.get_by_text("通知 5").wait_for()
        marker = page.locator("#new-marker")
        assert not await marker.is_visible()  # at the end: it simply scrolled
        await page.evaluate("document.getElementById('chat').scrollTop = 0")
        await _push(running, "zhang-ayi", "新的通知")
        await marker.wait_for()
        assert await page.evaluate("document.getElementById('chat').scrollTop") < 50
        await page.screenshot(path=str(OUTPUT / "web-new-marker.png"))
        await marker.click()
        await page.get_by_text("新的通知").wait_for()
        assert not await marker.is_visible()


async def test_own_messages_appear_in_every_tab_of_the_browser(running: Running) -> None:
    async with browser_page() as (_browser, page):
        await open_as(page, running.base_url, "张阿姨")
        await page.locator("li.msg.bot").first.wait_for()
        other = await page.context.new_page()
        await other.goto(running.base_url)
        await other.locator("li.msg.bot").first.wait_for()
        await type_text(page, "/my", "诉求")
        await other.locator("li.msg.mine", has_text="/my").wait_for()
        await other.get_by_text("诉求").last.wait_for()  # and the answer, pushed live


async def test_demo_mode_goes_back_to_the_previous_person_in_one_tap(running: Running) -> None:
    async with browser_page() as (_browser, page):
        await open_as(page, running.base_url, "张阿姨")
        assert not await page.locator("#back").is_visible()
        await page.locator("#switch").click()
        await page.get_by_text("刘晓燕（网格员）").click()
        back = page.locator("#back", has_text="↩ 张阿姨")
        await back.wait_for()
        await back.click()
        await page.locator("#back", has_text="刘晓燕").wait_for()
        await page.locator("#menubar .menu-item", has_text="新诉求").wait_for()  # her menu
