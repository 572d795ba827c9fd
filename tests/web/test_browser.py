"""The web chat in a real browser: headless Debian Chromium driven by Playwright.

A resident registers, reports a broken light with a photo, sees the reference number, and
sees the grid staff's status update arrive without reloading. The screenshot goes to
test-output/ (look at it: the Chinese must render). Skipped, saying why, without Chromium or
the playwright package; CI installs Chromium (.ci/run). Never run `playwright install`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import migrate
from bot.channels.webchat import Hub, webchat_outputs
from bot.config import Settings, load_settings
from bot.core.engine import Engine
from bot.db import create_engine, session_factory
from bot.outbox import Sender
from bot.services.cases import workflow
from bot.services.org.importer import load_demo
from bot.web import create_app, serve
from handlers import build_router
from models import ChannelIdentity, Person, Request, utcnow
from tests.conftest import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
]

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        async_playwright is None,
        reason="browser test skipped: the playwright package is missing (pip install -e '.[dev]')",
    ),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="browser test skipped: no Chromium (apt-get install chromium fonts-noto-cjk)",
    ),
]


def _png() -> bytes:
    """A small valid PNG (16x16, red), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * 16 for _ in range(16))
    header = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class Running:
    base_url: str
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    """The whole web chat on a temp SQLite file with the demo district, on a free port."""
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    url = f"sqlite+aiosqlite:///{tmp_path / 'web.sqlite3'}"
    settings = load_settings(
        database={"url": url},
        web={"host": "127.0.0.1", "port": free_port()},
        webchat={
            "session_secret": "browser-test",
            "upload_dir": str(tmp_path / "uploads"),
            "demo": True,  # on 127.0.0.1 only, as `make run` does
        },
        # No quiet hours: the staff update must go out whatever the time of the run.
        outbox={"quiet_start": "00:00", "quiet_end": "00:00"},
    )
    db_engine = create_engine(url)
    await migrate.upgrade(db_engine)
    sessions = session_factory(db_engine)
    async with sessions() as session, session.begin():
        await load_demo(session)
    outputs = webchat_outputs(Hub())
    sender = Sender(
        sessions, outputs, settings.outbox, settings.tz, worker_id="browser", poll_interval=0.2
    )
    engine = Engine(
        sessions=sessions,
        settings=settings,
        router=build_router(),
        outputs=outputs,
        sender=sender,
    )
    app = create_app(engine=engine, sessions=sessions, settings=settings)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(serve(app, settings, stop)), asyncio.create_task(sender.run(stop))]
    for _ in range(200):  # wait until uvicorn listens
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", settings.web.port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        break
    try:
        yield Running(f"http://127.0.0.1:{settings.web.port}", settings, sessions)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
        await db_engine.dispose()


async def _bot_count(page: Page) -> int:
    return await page.locator("li.msg.bot").count()


NEWER_WITH_TEXT = """([n, texts]) => Array.from(document.querySelectorAll('li.msg.bot'))
    .slice(n).some(li => texts.some(text => li.textContent.includes(text)))"""


async def _expect(page: Page, count: int, *texts: str) -> None:
    """Wait for a bot message newer than the first `count` holding one of `texts`. (A reply may
    span several messages, each paced by the sender, so counting messages is not enough.)"""
    await page.wait_for_function(NEWER_WITH_TEXT, arg=[count, list(texts)])


async def _press(page: Page, label: str, *expect: str) -> None:
    """Press the newest chip with this label; wait for the answer that shows one of `expect`."""
    count = await _bot_count(page)
    await page.locator("li.msg.bot .chip", has_text=label).last.click()
    await _expect(page, count, *expect)


async def _type(page: Page, text: str, *expect: str) -> None:
    count = await _bot_count(page)
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await _expect(page, count, *expect)


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
            await _expect(page, 0, "请选择您所在的街道")  # the page sent /start itself

            await _press(page, "潮海街道", "请选择社区")
            await _press(page, "和顺社区", "请选择小区")
            await _press(page, "海盛·新阳光地带", "请选择楼号")
            await _press(page, "17号楼", "是否留下手机号")
            await _press(page, "跳过", "登记完成")

            # Resident text is shown as text: a tag in it neither renders nor runs.
            injected = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
            await _type(page, "楼道灯坏了好几天了，晚上黑漆漆的 " + injected, "收到")
            mine = page.locator("li.msg.mine .bubble").last
            assert injected in (await mine.text_content() or "")
            assert await page.locator("li.msg img[src='x']").count() == 0

            count = await _bot_count(page)
            photo = tmp_path / "light.png"
            photo.write_bytes(_png())
            await page.set_input_files("#photo-input", str(photo))
            await _expect(page, count, "收到")
            assert list((tmp_path / "uploads").glob("*.png"))

            await _press(page, "✅ 提交", "诉求编号")  # the draft: 照明, the stairwell, 一般
            submitted = page.locator("li.msg.bot .bubble", has_text="诉求编号").last
            text = await submitted.text_content() or ""
            match = re.search(r"诉求编号 (\S+?)。", text)
            assert match, text
            reference = match.group(1)

            # The grid staff accepts it; the push must arrive on the open page.
            await page.evaluate("window.__sameDocument = 'yes'")
            count = await _bot_count(page)
            async with running.sessions() as session, session.begin():
                request = (
                    await session.execute(select(Request).where(Request.reference == reference))
                ).scalar_one()
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
            await _expect(page, count, "已受理")
            update = page.locator("li.msg.bot .bubble", has_text="已受理，网格").last
            assert reference in (await update.text_content() or "")
            assert await page.evaluate("window.__sameDocument") == "yes"
            assert await page.evaluate("window.__pwned") is None
            assert errors == []
            await page.screenshot(path=str(OUTPUT / "web-chat.png"), full_page=False)
        finally:
            await browser.close()
