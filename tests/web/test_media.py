"""Pictures and files in the web chat, on SQLite and PostgreSQL: every part of an `Outgoing`
has a rendering; a message's chart or export goes to its own chat only and is gone with its
file; an uploaded photo goes to the people the database says may see it, on every fetch."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.messages import Button, CommandMenu, Outgoing
from bot.outbox import enqueue
from bot.services.cases import intake
from bot.web import render
from bot.web.auth import CSRF_HEADER
from models import (
    Building,
    Category,
    ChannelIdentity,
    Compound,
    OrgUnit,
    Person,
    Request,
    RequestFollower,
    VolunteerTask,
)
from tests.web.conftest import Web

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
XLSX = b"PK\x03\x04" + b"\x00" * 64
UPLOAD = "0123456789abcdef0123456789abcdef.png"


async def _identity(web: Web, external_id: str) -> ChannelIdentity:
    async with web.db.sessions() as db:
        query = select(ChannelIdentity).where(ChannelIdentity.external_id == external_id)
        return (await db.execute(query)).scalar_one()


async def push(web: Web, external_id: str, message: Outgoing) -> dict[str, Any]:
    """Deliver `message` to a demo person's chat; the page's rendering of it."""
    identity = await _identity(web, external_id)
    async with web.db.sessions() as db, db.begin():
        row = await enqueue(
            db,
            channel="demo",
            chat_id=identity.chat_id,
            message=message,
            person_id=identity.person_id,
            urgent=True,
        )
    await web.sender.pump()
    messages = (await web.client.get("/api/messages")).json()["messages"]
    rendered = [m for m in messages if m["id"] == row.id]
    assert rendered, messages
    return rendered[0]  # type: ignore[no-any-return]


@asynccontextmanager
async def other_browser(web: Web, person: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app, acting as another demo person."""
    transport = httpx.ASGITransport(app=web.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/api/session/demo", json={"person": person}, headers={CSRF_HEADER: "new"}
        )
        assert response.status_code == 200, response.text
        yield client


@pytest.fixture(autouse=True)
def _exports_in_tmp(web: Web, tmp_path: Path) -> None:
    web.settings.stats.export_dir = tmp_path / "exports"


def _files(web: Web) -> tuple[Path, Path]:
    folder = web.settings.stats.export_dir / "f00d"
    folder.mkdir(parents=True, exist_ok=True)
    chart, workbook = folder / "stats.png", folder / "requests-heshun.xlsx"
    chart.write_bytes(PNG)
    workbook.write_bytes(XLSX)
    return chart, workbook


def _uploaded(web: Web) -> str:
    web.settings.webchat.upload_dir.mkdir(parents=True, exist_ok=True)
    (web.settings.webchat.upload_dir / UPLOAD).write_bytes(PNG)
    return UPLOAD


async def test_every_outgoing_field_has_a_web_rendering(web: Web) -> None:
    await web.as_demo("zhang-ayi")
    chart, workbook = _files(web)
    document = Outgoing(text="导出", document=str(workbook), document_name="诉求.xlsx")
    samples = {
        "text": Outgoing(text="您好"),
        "buttons": Outgoing(text="选一个", buttons=[[Button("好", "v1:x")]]),
        "reply_requests": Outgoing(text="手机号？", reply_requests=[("共享手机号", "contact")]),
        "remove_reply_keyboard": Outgoing(text="好的", remove_reply_keyboard=True),
        "photo": Outgoing(text="三率图表", photo=str(chart)),
        "album": Outgoing(text="照片", album=[_uploaded(web)]),
        "document": document,
        "document_name": document,
        "edit_message_id": Outgoing(text="已更新", edit_message_id="7"),
        "menu": Outgoing(menu=CommandMenu(("admin",), "zh")),
    }
    fields = {field.name for field in dataclasses.fields(Outgoing)}
    assert set(samples) == fields == set(render.RENDERED)
    for field, message in samples.items():
        rendered = await push(web, "zhang-ayi", message)
        shown = rendered[render.RENDERED[field]]
        assert shown, (field, rendered)
        for part in rendered["images"] + rendered["files"]:
            assert part.get("url"), (field, part)
    photo = await push(web, "zhang-ayi", samples["photo"])
    assert (await web.client.get(photo["images"][0]["url"])).headers["content-type"] == "image/png"


async def test_a_message_file_reaches_its_own_chat_only_and_expires(web: Web) -> None:
    await web.as_demo("admin-chen")
    chart, workbook = _files(web)
    chart_message = await push(web, "admin-chen", Outgoing(text="图表", photo=str(chart)))
    export = await push(
        web, "admin-chen", Outgoing(text="导出", document=str(workbook), document_name="诉求.xlsx")
    )
    card = export["files"][0]
    assert card["name"] == "诉求.xlsx" and card["size"] == len(XLSX)
    download = await web.client.get(card["url"])
    assert download.status_code == 200 and download.content == XLSX
    assert download.headers["content-type"] == render.MEDIA_TYPES[".xlsx"]
    assert "attachment" in download.headers["content-disposition"]
    async with other_browser(web, "admin-zhao") as stranger:
        for url in (card["url"], chart_message["images"][0]["url"]):
            assert (await stranger.get(url)).status_code == 404
    assert (await web.client.get(f"/api/media/{export['id']}/photo")).status_code == 404
    workbook.unlink()
    gone = await web.client.get(card["url"])
    assert gone.status_code == 410 and "过期" in gone.json()["error"]
    again = (await web.client.get("/api/messages")).json()["messages"]
    assert [m["files"] for m in again if m["id"] == export["id"]] == [
        [{"name": "诉求.xlsx", "expired": True}]
    ]


async def _request_with_photo(web: Web, reporter: str) -> Request:
    """A request in building 17 of 海盛·新阳光地带 (grid heshun-1) carrying the upload."""
    identity = await _identity(web, reporter)
    async with web.db.sessions() as db, db.begin():
        compound = (
            await db.execute(select(Compound).where(Compound.code == "haisheng-sunshine"))
        ).scalar_one()
        building = (
            await db.execute(
                select(Building).where(Building.compound_id == compound.id, Building.number == "17")
            )
        ).scalar_one()
        category = (await db.execute(select(Category).limit(1))).scalar_one()
        return await intake.submit(
            db,
            reporter=await db.get(Person, identity.person_id),
            category=category,
            description="楼道灯坏了",
            photos=[(_uploaded(web), len(PNG), "photo")],
            channel="demo",
            building_id=building.id,
            compound_id=compound.id,
            now=web.clock(),
            settings=web.settings,
        )


async def test_an_uploaded_photo_goes_to_its_reporter_and_staff_in_scope(web: Web) -> None:
    await web.as_demo("zhang-ayi")
    await _request_with_photo(web, "zhang-ayi")
    url = f"/api/photos/{UPLOAD}"
    mine = await web.client.get(url)
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/png"
    async with other_browser(web, "grid-liu") as staff:
        assert (await staff.get(url)).status_code == 200
    for stranger_key in ("li-shushu", "ma-daye", "volunteer-sun"):
        async with other_browser(web, stranger_key) as stranger:
            assert (await stranger.get(url)).status_code == 404, stranger_key


async def _person(web: Web, external_id: str) -> int:
    return (await _identity(web, external_id)).person_id


async def test_followers_do_not_see_the_reporters_photos(web: Web) -> None:
    """Neighbours who said "me too" get notices, not the reporter's pictures (media_rights)."""
    await web.as_demo("zhang-ayi")
    request = await _request_with_photo(web, "zhang-ayi")
    async with web.db.sessions() as db, db.begin():
        db.add(RequestFollower(request_id=request.id, person_id=await _person(web, "li-shushu")))
    async with other_browser(web, "li-shushu") as follower:
        assert (await follower.get(f"/api/photos/{UPLOAD}")).status_code == 404


async def test_a_volunteer_tasks_photo_goes_to_its_volunteer_and_staff_over_its_unit(
    web: Web,
) -> None:
    await web.as_demo("volunteer-sun")
    async with web.db.sessions() as db, db.begin():
        grid = (await db.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))).scalar_one()
        db.add(
            VolunteerTask(
                description="帮老人买菜",
                owner_unit_id=grid.id,
                claimed_by_id=await _person(web, "volunteer-sun"),
                status="done",
                photos=[_uploaded(web)],
            )
        )
    url = f"/api/photos/{UPLOAD}"
    assert (await web.client.get(url)).status_code == 200
    for staff_key in ("grid-liu", "admin-zhao"):  # the grid's staff, the district's admin
        async with other_browser(web, staff_key) as staff:
            assert (await staff.get(url)).status_code == 200, staff_key
    for stranger_key in ("zhang-ayi", "ma-daye", "liaison-wu"):
        async with other_browser(web, stranger_key) as stranger:
            assert (await stranger.get(url)).status_code == 404, stranger_key
