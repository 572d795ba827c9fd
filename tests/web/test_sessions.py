"""Web chat sessions end when they should: sign out, `redgrid sessions revoke`, erase, demo
mode off; starting one writes nothing and is limited per client address; staff arrive by invite."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.services.org import invites, rights
from bot.web.auth import COOKIE, CSRF_HEADER, DAY_S
from models import ChannelIdentity, Invite, OrgUnit, Person, Role, utcnow
from tests.conftest import Clock
from tests.web.conftest import Web, build_web, web_settings


async def _count(web: Web, model: type) -> int:
    async with web.db.sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _press(web: Web, csrf: str, key: str, label: str) -> None:
    messages = (await web.client.get("/api/messages")).json()["messages"]
    data = next(
        d for m in reversed(messages) for row in m["buttons"] for (lab, d) in row if lab == label
    )
    response = await web.send(csrf, key, kind="button", data=data)
    assert response.status_code == 200, response.text


async def test_starting_a_session_writes_nothing_until_the_first_message(web: Web) -> None:
    people, identities = await _count(web, Person), await _count(web, ChannelIdentity)
    session = await web.start()
    anonymous = web.client.cookies[COOKIE]
    assert (await web.client.get("/api/session")).status_code == 200
    assert (await web.client.get("/api/messages")).json()["messages"] == []
    assert (await _count(web, Person), await _count(web, ChannelIdentity)) == (people, identities)
    sent = await web.send(str(session["csrf"]), "first-msg-0001", kind="text", text="/start")
    assert sent.status_code == 200
    assert await _count(web, Person) == people + 1
    # The next request binds the cookie to the person; the page's CSRF token is unchanged.
    assert (await web.client.get("/api/messages")).json()["messages"]
    assert web.client.cookies[COOKIE] != anonymous
    again = await web.send(str(session["csrf"]), "second-msg-001", kind="text", text="/help")
    assert again.status_code == 200


async def test_new_sessions_are_limited_per_client_address(
    demo: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    settings = web_settings(tmp_path, sessions_per_hour=3)
    app, _sender, _hub = build_web(demo, settings, clock)  # type: ignore[arg-type]
    answers = []
    for language in ("zh-CN", "zh-CN", "zh-CN", "zh-CN", "en-US"):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:  # a new browser each time, the same address
            answers.append(
                await client.post(
                    "/api/session", headers={CSRF_HEADER: "new", "Accept-Language": language}
                )
            )
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert "太频繁" in answers[3].json()["error"]
    assert "Too many new sessions" in answers[4].json()["error"]
    assert 0 < int(answers[3].headers["retry-after"]) <= 3600
    assert COOKIE not in answers[3].cookies


async def test_sign_out_ends_the_persons_sessions_everywhere(web: Web) -> None:
    session = await web.start()
    await web.send(str(session["csrf"]), "signout-key-01", kind="text", text="/start")
    await web.client.get("/api/session")  # the cookie that names the person
    copied = web.client.cookies[COOKIE]  # the same person on another device
    ended = await web.client.post("/api/session/end", headers={CSRF_HEADER: str(session["csrf"])})
    assert ended.status_code == 200 and COOKIE not in web.client.cookies
    web.client.cookies.set(COOKIE, copied)
    refused = await web.client.get("/api/messages")
    assert refused.status_code == 401 and refused.json()["code"] == "session_ended"
    assert "退出" in refused.json()["error"]
    web.client.cookies.set(COOKIE, copied)
    forged = await web.client.post("/api/session/end", headers={CSRF_HEADER: "guess"})
    assert forged.status_code == 403


async def test_sessions_revoke_and_erase_end_sessions(web: Web, clock: Clock) -> None:
    session = await web.start()
    csrf = str(session["csrf"])
    await web.send(csrf, "revoke-key-001", kind="text", text="/start")
    person_id = (await web.client.get("/api/session")).json()  # bound to the person now
    async with web.db.sessions() as db:
        found = await db.scalar(
            select(ChannelIdentity.person_id).where(
                ChannelIdentity.chat_id == str(person_id["chat"]).split(":", 1)[1]
            )
        )
    assert found is not None
    async with web.db.sessions() as db, db.begin():
        await rights.end_sessions(db, person_id=found, actor_id=None, now=clock())
    refused = await web.client.get("/api/session")
    assert refused.status_code == 401 and refused.json()["code"] == "session_ended"

    # A new session, erased through /privacy: the old cookie reads nothing.
    session = await web.start()
    csrf = str(session["csrf"])
    await web.send(csrf, "erase-key-0001", kind="text", text="/privacy")
    await _press(web, csrf, "erase-key-0002", "🗑 删除我的账户")
    await _press(web, csrf, "erase-key-0003", "确定删除")
    cookie = web.client.cookies[COOKIE]
    for path in ("/api/messages", "/api/session", "/api/events"):
        web.client.cookies.set(COOKIE, cookie)
        gone = await web.client.get(path)
        assert gone.status_code == 401, path
        assert gone.json()["code"] == "session_gone"


async def test_cookie_is_secure_behind_an_https_address_and_lives_as_configured(
    demo: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    for public_url, secure in (("", False), ("https://grid.example.org", True)):
        settings = web_settings(tmp_path, session_days=7)
        settings.web.public_url = public_url
        app, _sender, _hub = build_web(demo, settings, clock)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            response = await client.post("/api/session", headers={CSRF_HEADER: "new"})
        cookie = response.headers["set-cookie"].lower()
        assert ("; secure" in cookie) is secure
        assert f"max-age={7 * DAY_S}" in cookie


async def test_an_operators_invite_makes_a_web_visitor_admin(web: Web, clock: Clock) -> None:
    async with web.db.sessions() as db, db.begin():
        unit = (await db.execute(select(OrgUnit).where(OrgUnit.code == "jimo"))).scalar_one()
        _invite, token = await invites.create_invite(
            db, actor=None, role=Role.admin, unit=unit, now=clock(), settings=web.settings
        )
    session = await web.start()
    answer = await web.send(
        str(session["csrf"]), "redeem-key-001", kind="text", text=f"/start inv_{token}"
    )
    assert answer.status_code == 200
    assert (await web.client.get("/api/session")).json()["roles"] == ["admin"]
    # Single use: a second visitor gets nothing.
    web.client.cookies.clear()
    other = await web.start()
    await web.send(str(other["csrf"]), "redeem-key-002", kind="text", text=f"/start inv_{token}")
    assert (await web.client.get("/api/session")).json()["roles"] == []


def test_invite_and_revoke_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("REDGRID_WEB__PUBLIC_URL", "https://grid.example.org")
    monkeypatch.delenv("REDGRID_TELEGRAM__TOKEN", raising=False)
    runner = CliRunner()
    demo_file = Path(__file__).resolve().parents[2] / "data" / "demo-jimo.yaml"
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli, ["org", "import", str(demo_file)]).exit_code == 0
    made = runner.invoke(cli, ["invite", "create", "--role", "admin", "--unit", "jimo"])
    assert made.exit_code == 0, made.output
    link = next(w for w in made.output.split() if w.startswith("https://grid.example.org/"))
    assert link.startswith("https://grid.example.org/?start=inv_")
    png = tmp_path / "data" / "invites" / "invite-1-web.png"
    assert os.stat(png).st_mode & 0o777 == 0o600
    assert os.stat(png.parent).st_mode & 0o777 == 0o700
    assert [b.text for b in zxingcpp.read_barcodes(Image.open(png))] == [link]
    wrong = runner.invoke(cli, ["invite", "create", "--role", "admin", "--unit", "heshun-1"])
    assert wrong.exit_code == 1 and "community, district, street" in wrong.output
    too_long = runner.invoke(
        cli, ["invite", "create", "--role", "admin", "--unit", "jimo", "--expires", "90d"]
    )
    assert too_long.exit_code == 2
    revoked = runner.invoke(cli, ["sessions", "revoke", "--person", "1"])
    assert revoked.exit_code == 0, revoked.output
    missing = runner.invoke(cli, ["sessions", "revoke", "--person", "99999"])
    assert missing.exit_code == 1 and "99999" in missing.output

    import asyncio

    from bot.db import create_engine, session_factory

    async def check() -> tuple[bool, int]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
        try:
            async with session_factory(engine)() as db:
                invite = (await db.execute(select(Invite))).scalar_one()
                person = await db.get(Person, 1)
                assert person is not None and invite.expires_at > utcnow()
                return invite.by_operator, person.session_epoch
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == (True, 1)
