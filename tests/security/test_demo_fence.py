"""Demo identities are a local-only mode, and fenced: what a demo person grants, invites,
broadcasts or exports reaches demo people only; demo mode off ends their sessions and what they
handed out. Each test follows a hole that was open: an anonymous visitor became a district
admin through the demo admin."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot import runtime
from bot.cli import app as cli
from bot.config import check_exposure, load_settings
from bot.exceptions import ConfigError
from bot.i18n import t
from bot.services.cases import intake
from bot.services.comms import broadcast
from bot.services.org import demo_fence
from bot.services.reports import export
from bot.web.auth import COOKIE, CSRF_HEADER
from models import Category, ChannelIdentity, Invite, OrgUnit, Person, Role, RoleGrant
from tests.conftest import Clock
from tests.web.conftest import Web, web  # noqa: F401 (the fixture)


@asynccontextmanager
async def browser(app_web: Web) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app: its own cookie jar."""
    transport = httpx.ASGITransport(app=app_web.app)
    headers = {"Accept-Language": "zh-CN"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        yield client


async def _say(client: httpx.AsyncClient, csrf: str, key: str, text: str) -> list[str]:
    """Send a text as the page does; the texts of the replies it caused."""
    before = (await client.get("/api/messages")).json()["messages"]
    last = before[-1]["id"] if before else 0
    response = await client.post(
        "/api/send",
        json={"key": key, "kind": "text", "text": text},
        headers={CSRF_HEADER: csrf},
    )
    assert response.status_code == 200, response.text
    after = (await client.get("/api/messages", params={"after": last})).json()["messages"]
    return [m["text"] for m in after]


async def _resident(client: httpx.AsyncClient) -> tuple[str, str]:
    """A new resident in a browser, after their first message: (csrf, chat id)."""
    started = (await client.post("/api/session", headers={CSRF_HEADER: "new"})).json()
    await _say(client, started["csrf"], "first-message-001", "/start")
    return started["csrf"], str(started["chat"]).split(":", 1)[1]


async def _person_of_chat(app_web: Web, chat_id: str) -> int:
    async with app_web.db.sessions() as db:
        found = await db.scalar(
            select(ChannelIdentity.person_id).where(ChannelIdentity.chat_id == chat_id)
        )
    assert found is not None
    return int(found)


async def _roles(app_web: Web, person_id: int) -> set[str]:
    async with app_web.db.sessions() as db:
        roles = await db.scalars(select(RoleGrant.role).where(RoleGrant.person_id == person_id))
        return {role.value for role in roles}


async def test_demo_admin_cannot_make_a_visitor_staff(web: Web) -> None:  # noqa: F811
    """The escalation as it was done: a visitor's own session, the demo district admin in a
    second tab, /grant and /invite on the visitor. Both refused, in the admin's language."""
    async with browser(web) as visitor:
        csrf, chat = await _resident(visitor)
        visitor_id = await _person_of_chat(web, chat)
        admin = await web.as_demo("admin-zhao")  # an English-speaking demo admin
        refused = await _say(
            web.client, str(admin["csrf"]), "grant-key-0001", f"/grant {visitor_id} admin jimo"
        )
        assert refused == [t("en", "access.demo_only")]
        invite = await _say(web.client, str(admin["csrf"]), "invite-key-001", "/invite admin jimo")
        payload = next(word for word in " ".join(invite).split() if word.startswith("inv_"))
        answer = await _say(visitor, csrf, "redeem-key-0001", f"/start {payload}")
        assert answer == [t("zh", "access.demo_only")]
        assert await _roles(web, visitor_id) == set()
        # Among demo people the demo still works: the demo admin grants a demo resident.
        async with web.db.sessions() as db:
            demo_resident = await db.scalar(
                select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == "ma-daye")
            )
        granted = await _say(
            web.client, str(admin["csrf"]), "grant-key-0002", f"/grant {demo_resident} admin jimo"
        )
        assert granted and granted != [t("en", "access.demo_only")]
        assert "admin" in await _roles(web, int(demo_resident or 0))


async def test_demo_off_refuses_demo_sessions_and_withdraws_their_grants(
    web: Web,  # noqa: F811
    clock: Clock,
) -> None:
    admin = await web.as_demo("admin-zhao")
    async with web.db.sessions() as db:
        demo_resident = await db.scalar(
            select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == "ma-daye")
        )
    await _say(
        web.client, str(admin["csrf"]), "grant-key-0003", f"/grant {demo_resident} admin jimo"
    )
    await _say(web.client, str(admin["csrf"]), "invite-key-002", "/invite grid_staff heshun-1")
    assert "admin" in await _roles(web, int(demo_resident or 0))

    web.settings.webchat.demo = False
    cookie = web.client.cookies[COOKIE]
    for method, path in (("GET", "/api/session"), ("GET", "/api/messages")):
        web.client.cookies.set(COOKIE, cookie)  # each refusal clears it
        response = await web.client.request(method, path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "session_demo_off"
        assert "演示模式已关闭" in response.json()["error"]
    web.client.cookies.set(COOKIE, cookie)
    sent = await web.client.post(
        "/api/send",
        json={"key": "after-demo-off-1", "kind": "text", "text": "/stats"},
        headers={CSRF_HEADER: str(admin["csrf"])},
    )
    assert sent.status_code == 401
    chosen = await web.client.post(
        "/api/session/demo", json={"person": "admin-zhao"}, headers={CSRF_HEADER: "x"}
    )
    assert chosen.status_code == 404 and COOKIE not in chosen.cookies

    async with web.db.sessions() as db, db.begin():
        removed = await demo_fence.end_demo_grants(db, now=clock())
    assert removed == 2  # the grant and the unused invite
    assert "admin" not in await _roles(web, int(demo_resident or 0))
    assert await _roles(web, int(demo_resident or 0)) == {"resident"}  # the org file's stays
    async with web.db.sessions() as db:
        assert await db.scalar(select(Invite.id).where(Invite.used_at.is_(None))) is None


async def test_a_demo_persons_broadcast_and_export_reach_demo_people_only(
    web: Web,  # noqa: F811
    clock: Clock,
) -> None:
    async with browser(web) as visitor:
        _csrf, chat = await _resident(visitor)
        visitor_id = await _person_of_chat(web, chat)
    async with web.db.sessions() as db, db.begin():
        admin = (
            await db.execute(
                select(Person)
                .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
                .where(ChannelIdentity.external_id == "admin-chen")
            )
        ).scalar_one()
        visitor = await db.get(Person, visitor_id)
        assert visitor is not None
        visitor.compound_id = await db.scalar(
            select(Person.compound_id).where(Person.display_name == "张阿姨")
        )
        visitor.display_name, visitor.phone = "王访客", "13912345678"
        target = await broadcast.resolve_target(db, text="heshun")
        everyone = await broadcast.recipients(db, target=target)
        demo_only = await broadcast.recipients(db, target=target, demo_only=True)
        assert visitor_id in everyone and visitor_id not in demo_only and demo_only
        _draft, count = await broadcast.create_draft(
            db, actor=admin, target=target, text="停水通知", now=clock()
        )
        assert count == len(demo_only)

        unit = (await db.execute(select(OrgUnit).where(OrgUnit.code == "heshun"))).scalar_one()
        category = (
            await db.execute(select(Category).where(Category.slug == "lighting"))
        ).scalar_one()
        await intake.submit(
            db,
            reporter=visitor,
            category=category,
            description="楼道灯坏了",
            compound_id=visitor.compound_id,
            settings=web.settings,
            now=clock(),
        )
        start, end = clock() - timedelta(days=1), clock() + timedelta(days=1)
        for demo_actor, shown in ((False, True), (True, False)):
            data = await export.requests_workbook(
                db,
                unit=unit,
                start=start,
                end=end,
                show_phones=True,
                settings=web.settings,
                demo_actor=demo_actor,
            )
            cells = {
                str(c)
                for row in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)
                for c in row
            }
            assert ("13912345678" in cells) is shown and ("王访客" in cells) is shown


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        ({"web": {"host": "0.0.0.0"}}, ("webchat.demo", "web.host")),
        ({"web": {"host": "192.0.2.7"}}, ("webchat.demo", "web.host")),
        ({"web": {"public_url": "https://grid.example.org"}}, ("webchat.demo", "web.public_url")),
    ],
)
def test_demo_mode_on_a_public_address_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, overrides: dict[str, dict[str, str]], keys: tuple[str, ...]
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    settings = load_settings(webchat={"demo": True}, **overrides)
    with pytest.raises(ConfigError) as raised:
        runtime.build(settings)
    assert all(key in str(raised.value) for key in keys)
    check_exposure(load_settings(**overrides))  # demo off: the same address is fine
    check_exposure(load_settings(webchat={"demo": True}, web={"host": "::1"}))


def test_redgrid_run_names_both_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    monkeypatch.setenv("REDGRID_WEBCHAT__DEMO", "true")
    monkeypatch.setenv("REDGRID_WEB__HOST", "0.0.0.0")
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 2
    assert "webchat.demo" in result.output and "web.host" in result.output


def test_the_shipped_config_has_demo_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "config.yaml")
    monkeypatch.delenv("REDGRID_WEBCHAT__DEMO", raising=False)
    assert load_settings().webchat.demo is False
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    assert load_settings().webchat.demo is False


async def test_org_file_fences_the_demo_channel() -> None:
    from bot.services.org.schema import PersonRow

    with pytest.raises(ValueError, match="go together"):
        PersonRow(display_name="x", identities=[{"channel": "demo", "external_id": "a"}])
    with pytest.raises(ValueError, match="go together"):
        PersonRow(
            display_name="x",
            demo=True,
            identities=[{"channel": "telegram", "external_id": "1"}],
        )
    assert Role.admin  # the enum the grants above use
