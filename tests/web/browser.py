"""What the browser tests share: the whole web chat on a free port, headless Debian Chromium,
and steps a person takes (press a chip, type, wait for an answer, wait for a picture).

Skipped, saying why, without Chromium or the playwright package; CI installs Chromium
(.ci/run). Never run `playwright install`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from bot.services.cases import intake
from bot.services.org.importer import load_demo
from bot.web import create_app, serve
from handlers import build_router
from models import Building, Category, ChannelIdentity, Compound, Person, Request, utcnow
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
    from playwright.async_api import Browser, Page, async_playwright
except ImportError:  # pragma: no cover - depends on the machine
    async_playwright = None  # type: ignore[assignment]

BROWSER = [
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


def png_bytes(width: int = 16, height: int = 16) -> bytes:
    """A valid PNG made without an imaging library: a red square, or at a larger size a sky
    over a building with a lit window (so a screenshot shows a picture, not a speck)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    def pixel(x: int, y: int) -> bytes:
        if width <= 16:
            return b"\xd0\x30\x30"
        if y < height // 3:
            return bytes((120, 170, 230))  # sky
        if width // 4 <= x < 3 * width // 4:  # the building, one lit window
            lit = width // 2 - 12 <= x < width // 2 + 12 and height // 2 <= y < height // 2 + 20
            return bytes((250, 220, 90)) if lit else bytes((150, 90, 70))
        return bytes((90, 150, 80))  # lawn

    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
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
        stats={"export_dir": str(tmp_path / "exports")},
        meetings={"notice_dir": str(tmp_path / "notices")},
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


NEWEST = """() => Math.max(0, ...Array.from(document.querySelectorAll('li.msg.bot'))
    .map(li => Number(li.dataset.id) || 0))"""
NEWER_WITH_TEXT = """([n, texts]) => Array.from(document.querySelectorAll('li.msg.bot'))
    .some(li => Number(li.dataset.id) > n && texts.some(text => li.textContent.includes(text)))"""


async def bot_count(page: Page) -> int:
    """The newest bot message's id: later ones, new or replacing an edited one, have higher."""
    return int(await page.evaluate(NEWEST))


async def expect_reply(page: Page, count: int, *texts: str) -> None:
    """Wait for a bot message newer than `count` (`bot_count`) holding one of `texts`, added or
    replacing the message it edits. (A reply may span several messages, each paced by the
    sender, so counting messages is not enough.)"""
    await page.wait_for_function(NEWER_WITH_TEXT, arg=[count, list(texts)])


async def press(page: Page, label: str | re.Pattern[str], *expect: str) -> None:
    """Press the newest chip with this label; wait for the answer that shows one of `expect`."""
    count = await bot_count(page)
    await page.locator("li.msg.bot .chip", has_text=label).last.click()
    await expect_reply(page, count, *expect)


async def type_text(page: Page, text: str, *expect: str) -> None:
    count = await bot_count(page)
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await expect_reply(page, count, *expect)


PHONE = {"width": 390, "height": 844}
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"""
NEWER_IMAGES = """(n) => Array.from(document.querySelectorAll('li.msg.bot'))
    .filter(li => Number(li.dataset.id) > n)
    .flatMap(li => Array.from(li.querySelectorAll('img')))"""
IMAGE_SHOWN = f"(n) => ({NEWER_IMAGES})(n).length > 0"
IMAGE_LOADED = f"""(n) => ({NEWER_IMAGES})(n)
    .some(img => img.complete && img.naturalWidth > 0)"""
# Pictures load lazily, once in view: the newest is scrolled into view first.
SHOW_NEWEST_IMAGE = f"(n) => ({NEWER_IMAGES})(n).pop().scrollIntoView({{block: 'center'}})"


@asynccontextmanager
async def browser_page(
    locale: str = "zh-CN", *, bypass_csp: bool = False, timezone_id: str | None = None
) -> AsyncIterator[tuple[Browser, Page]]:
    """A phone-sized page in a fresh headless Chromium; fails the test on a page error. With
    `bypass_csp` a test may add scripts of its own (the accessibility checker); `timezone_id`
    puts the browser in another time zone (a visitor abroad)."""
    assert async_playwright is not None
    OUTPUT.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        try:
            context = await browser.new_context(
                locale=locale, viewport=PHONE, bypass_csp=bypass_csp, timezone_id=timezone_id
            )
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield browser, page
            assert errors == []
        finally:
            await browser.close()


async def open_as(page: Page, base_url: str, person: str) -> None:
    """Open the page and act as a demo person (by the name the start page lists)."""
    await page.goto(base_url)
    await page.get_by_text(person).click()
    await page.locator("#composer").wait_for()


async def staff_resolve_with_photo(page: Page, reference: str, photo: Path) -> None:
    """Grid staff, on their queue: open the request, accept it, resolve it with a note and a
    result photo."""
    await press(page, reference, "签收")  # the queue becomes the request's card
    await press(page, "签收", "已签收", "受理")
    await press(page, "办结", "办理结果")
    await type_text(page, "已更换楼道灯泡", "已收到")
    count = await bot_count(page)
    await page.set_input_files("#photo-input", str(photo))
    await expect_reply(page, count, "照片 1 张")
    await press(page, "✅ 完成", "已办结", "办结")


async def wait_image(page: Page, after: int = 0) -> None:
    """Wait until a bot message newer than `after` (`bot_count`) shows a loaded picture."""
    await page.wait_for_function(IMAGE_SHOWN, arg=after)
    await page.evaluate(SHOW_NEWEST_IMAGE, after)
    await page.wait_for_function(IMAGE_LOADED, arg=after)


async def person_id(running: Running, external_id: str) -> int:
    async with running.sessions() as session:
        query = select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == external_id)
        found = (await session.execute(query)).scalar_one()
        assert found is not None
        return int(found)


async def seed_request(running: Running, reporter: str, photo: bytes) -> Request:
    """A request by a demo resident in building 17 (grid heshun-1) with an uploaded photo."""
    folder = running.settings.webchat.upload_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = "ab" * 16 + ".png"
    (folder / name).write_bytes(photo)
    reporter_id = await person_id(running, reporter)
    async with running.sessions() as session, session.begin():
        compound = (
            await session.execute(select(Compound).where(Compound.code == "haisheng-sunshine"))
        ).scalar_one()
        building = (
            await session.execute(
                select(Building).where(Building.compound_id == compound.id, Building.number == "17")
            )
        ).scalar_one()
        category = (
            await session.execute(select(Category).where(Category.slug == "lighting"))
        ).scalar_one_or_none() or (await session.execute(select(Category))).scalars().first()
        assert category is not None
        return await intake.submit(
            session,
            reporter=await session.get(Person, reporter_id),
            category=category,
            description="楼道灯坏了，晚上黑漆漆的",
            photos=[(name, len(photo), "photo")],
            channel="demo",
            building_id=building.id,
            compound_id=compound.id,
            now=utcnow(),
            settings=running.settings,
        )


async def serious_violations(page: Page) -> list[dict[str, object]]:
    """What axe-core (vendored, tests/web/vendor) finds serious or critical on the page."""
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, object]] = await page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]
