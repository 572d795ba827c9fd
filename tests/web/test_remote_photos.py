"""A photo sent from Telegram is seen on the web, on SQLite and PostgreSQL: the staff card and
the reporter's chat show it, fetched through the Telegram channel (the fake Bot API on
loopback) when first opened, kept as a private copy that erasure deletes; nobody else gets it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.channels.webchat import Hub, webchat_outputs
from bot.metrics import Metrics
from bot.services.cases import intake
from bot.services.storage import attachments
from bot.web import create_app
from models import Building, Category, ChannelIdentity, Compound, Person, Request
from tests.conftest import Clock, TestDB, engine_and_sender
from tests.e2e.conftest import make_client
from tests.fakes.bot_api import FakeBotAPI
from tests.web.conftest import ROOMY, Web, web_settings
from tests.web.test_media import other_browser

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 300
FILE_ID = "AgACAgIAAxkBAAIBtg-telegram-photo"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    fake = FakeBotAPI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture(params=["ptb", "aiogram"])
async def web_tg(
    request: pytest.FixtureRequest,
    api: FakeBotAPI,
    demo: TestDB,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> AsyncIterator[Web]:
    """The web app whose engine also delivers to Telegram (the fake Bot API)."""
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    settings = web_settings(tmp_path / "uploads", demo=True)
    client = make_client(str(request.param), api)
    await client.start()
    hub = Hub()
    outputs = {**webchat_outputs(hub), client.name: client}
    metrics = Metrics()
    engine, sender = engine_and_sender(
        demo, settings, clock, outputs, worker_id="web-tg", limits=ROOMY, metrics=metrics
    )
    app = create_app(engine=engine, sessions=demo.sessions, settings=settings, metrics=metrics)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers={"Accept-Language": "zh"}
        ) as http:
            yield Web(app, http, sender, hub, settings, demo, clock)
    finally:
        await client.close()


async def _reported_on_telegram(web: Web, reporter: str) -> Request:
    """A request in building 17 (grid heshun-1) whose photo came from Telegram."""
    async with web.db.sessions() as db, db.begin():
        person_id = (
            await db.execute(
                select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == reporter)
            )
        ).scalar_one()
        compound = (
            await db.execute(select(Compound).where(Compound.code == "haisheng-sunshine"))
        ).scalar_one()
        building = (
            await db.execute(
                select(Building).where(Building.compound_id == compound.id, Building.number == "17")
            )
        ).scalar_one()
        return await intake.submit(
            db,
            reporter=await db.get(Person, person_id),
            category=(await db.execute(select(Category).limit(1))).scalar_one(),
            description="楼道灯坏了",
            photos=[(FILE_ID, len(JPEG), "photo")],
            channel="telegram",
            building_id=building.id,
            compound_id=compound.id,
            now=web.clock(),
            settings=web.settings,
        )


async def _card_image(client: httpx.AsyncClient, reference: str) -> str:
    messages = (await client.get("/api/messages")).json()["messages"]
    card = next(m for m in messages if reference in m["text"] and m["images"])
    url = str(card["images"][0]["url"])
    assert url.startswith("/api/remote-photos/telegram/"), card["images"]
    return url


async def test_a_telegram_photo_is_fetched_for_those_who_may_see_it(
    web_tg: Web, api: FakeBotAPI
) -> None:
    web = web_tg
    api.files[FILE_ID] = JPEG
    await web.as_demo("grid-liu")
    request = await _reported_on_telegram(web, "zhang-ayi")
    await web.sender.pump()
    url = await _card_image(web.client, request.reference)  # the staff card carries it
    shown = await web.client.get(url)
    assert shown.status_code == 200 and shown.content == JPEG
    assert shown.headers["content-type"] == "image/jpeg"
    assert "private" in shown.headers["cache-control"]
    copy = attachments.cached_copy(web.settings.webchat.upload_dir, FILE_ID)
    assert copy.read_bytes() == JPEG and copy.stat().st_mode & 0o077 == 0
    del api.files[FILE_ID]  # kept: no second trip to Telegram
    assert (await web.client.get(url)).status_code == 200
    async with other_browser(web, "zhang-ayi") as reporter:
        assert (await reporter.get(url)).status_code == 200
    for stranger_key in ("li-shushu", "volunteer-sun"):
        async with other_browser(web, stranger_key) as stranger:
            assert (await stranger.get(url)).status_code == 404, stranger_key
    # Erasing the photo's row deletes the copy with it (people.erase -> delete_files).
    assert attachments.delete_files(web.settings.webchat.upload_dir, [FILE_ID]) == 1
    assert not copy.exists()
    assert (await web.client.get(url)).status_code == 404  # Telegram no longer has it either


async def test_a_photo_telegram_cannot_give_or_that_is_no_photo_is_not_shown(
    web_tg: Web, api: FakeBotAPI
) -> None:
    web = web_tg
    await web.as_demo("grid-liu")
    request = await _reported_on_telegram(web, "zhang-ayi")
    await web.sender.pump()
    url = await _card_image(web.client, request.reference)
    assert (await web.client.get(url)).status_code == 404  # unknown to Telegram
    api.files[FILE_ID] = b"<html>not a photo</html>"
    assert (await web.client.get(url)).status_code == 404
    assert not attachments.cached_copy(web.settings.webchat.upload_dir, FILE_ID).exists()
    unknown = "/api/remote-photos/telegram/" + "x" * 20  # a guessed id: no request holds it
    assert (await web.client.get(unknown)).status_code == 404
