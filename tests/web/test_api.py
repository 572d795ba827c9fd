"""The web chat API on SQLite and PostgreSQL: sessions, CSRF, messages, uploads, replay."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.messages import Outgoing
from bot.outbox import enqueue
from bot.web.auth import COOKIE, CSRF_HEADER, SessionCodec
from models import ChannelIdentity, OutboxMessage, ProcessedUpdate, Role, RoleGrant
from tests.conftest import Clock
from tests.web.conftest import SECRET, Web
from tests.web.test_ops import with_metrics_token

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 200


async def test_page_and_assets_are_served_locally(web: Web) -> None:
    page = await web.client.get("/")
    assert page.status_code == 200
    assert "/static/js/main.js" in page.text and "http" not in page.text.replace("http-equiv", "")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/js/main.js", "/static/js/core.js", "/static/app.css"):
        assert (await web.client.get(asset)).status_code == 200


async def test_page_texts_come_from_the_web_catalog(web: Web) -> None:
    zh = (await web.client.get("/api/i18n")).json()
    en = (await web.client.get("/api/i18n", params={"locale": "en"})).json()
    assert zh["locale"] == "zh" and zh["texts"]["web.send"] == "发送"
    assert en["texts"]["web.send"] == "Send"
    assert set(zh["texts"]) == set(en["texts"])


async def test_missing_cookie_is_refused_with_a_clear_message(web: Web) -> None:
    response = await web.client.get("/api/session")
    assert response.status_code == 401
    assert response.json()["code"] == "session_missing"
    assert "会话" in response.json()["error"]
    sent = await web.client.post(
        "/api/send",
        json={"key": "k" * 16, "kind": "text", "text": "hi"},
        headers={CSRF_HEADER: "x"},
    )
    assert sent.status_code == 401
    assert (await web.client.get("/api/messages")).status_code == 401


@pytest.mark.parametrize("tamper", ["garbage", "flip", "resign"])
async def test_forged_cookie_is_refused_and_cleared(web: Web, tamper: str) -> None:
    await web.start()
    value = web.client.cookies[COOKIE]
    body, _, signature = value.partition(".")
    if tamper == "garbage":
        forged = "not-a-session"
    elif tamper == "flip":
        forged = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + signature
    else:  # a well-formed cookie signed with another secret
        _, forged = SessionCodec(b"another secret").issue(
            channel="demo",
            chat_id="admin-zhao",
            user_id="admin-zhao",
            person_id=1,
            roles=("admin",),
        )
    web.client.cookies.set(COOKIE, forged)
    response = await web.client.get("/api/session")
    assert response.status_code == 401
    assert response.json()["code"] == "session_forged"
    assert "无效" in response.json()["error"]
    assert f'{COOKIE}=""' in response.headers["set-cookie"]


async def test_expired_cookie_is_refused(web: Web, clock: Clock) -> None:
    old = Clock(clock.now - timedelta(days=365))
    _, value = SessionCodec(SECRET.encode(), clock=old).issue(
        channel="webchat", chat_id="w1", user_id="w1", person_id=1, roles=()
    )
    web.client.cookies.set(COOKIE, value)
    response = await web.client.get("/api/session", headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "This session has expired; please reload the page to start again.",
        "code": "session_expired",
    }


async def test_posts_need_the_csrf_token(web: Web) -> None:
    assert (await web.client.post("/api/session")).status_code == 403
    session = await web.start()
    body = {"key": "a" * 16, "kind": "text", "text": "/start"}
    assert (await web.client.post("/api/send", json=body)).status_code == 403
    wrong = await web.client.post("/api/send", json=body, headers={CSRF_HEADER: "guess"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "csrf"
    ok = await web.send(str(session["csrf"]), "a" * 16, kind="text", text="/start")
    assert ok.status_code == 200


async def test_cookie_is_httponly_and_lax(web: Web) -> None:
    response = await web.client.post("/api/session", headers={CSRF_HEADER: "new"})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


async def test_a_retried_post_is_handled_once(web: Web) -> None:
    session = await web.start()
    csrf, key = str(session["csrf"]), "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    first = await web.send(csrf, key, kind="text", text="/start", language="zh-CN")
    assert first.json()["status"] == "handled" and first.json()["outbox_ids"]
    again = await web.send(csrf, key, kind="text", text="/start", language="zh-CN")
    assert again.json() == {"status": "duplicate", "outbox_ids": []}
    async with web.db.sessions() as db:
        updates = await db.scalar(
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.channel == "webchat", ProcessedUpdate.update_id.endswith(key))
        )
    assert updates == 1
    texts = await web.texts()
    assert len(texts) == len(first.json()["outbox_ids"])  # the replies, once


async def _onboard(web: Web, csrf: str) -> None:
    """A resident registers in building 17 through buttons, as the page would press them."""
    keys = iter(f"onboard-key-{n:04d}" for n in range(100))
    await web.send(csrf, next(keys), kind="text", text="/start", language="zh-CN")
    for label in ("潮海街道", "和顺社区", "海盛·新阳光地带", "17号楼"):
        await web.send(csrf, next(keys), kind="button", data=await _button(web, label))
    await web.send(csrf, next(keys), kind="button", data=await _button(web, "跳过"))


async def _button(web: Web, label: str) -> str:
    messages = (await web.client.get("/api/messages")).json()["messages"]
    for message in reversed(messages):
        for button_label, data in (b for row in message["buttons"] for b in row):
            if button_label == label:
                return str(data)
    raise AssertionError(f"no button {label}")


async def test_a_compounds_link_starts_with_the_compound_chosen(web: Web) -> None:
    """`?start=c_<code>` (the compound's QR code): the page sends "/start c_<code>"."""
    session = await web.start()
    csrf = str(session["csrf"])
    await web.send(csrf, "qr-key-0001", kind="text", text="/start c_haisheng-sunshine")
    await web.send(csrf, "qr-key-0002", kind="button", data=await _button(web, "17号楼"))
    await web.send(csrf, "qr-key-0003", kind="button", data=await _button(web, "跳过"))
    await web.send(csrf, "qr-key-0004", kind="text", text="楼道灯坏了好几天了")
    await web.send(csrf, "qr-key-0005", kind="button", data=await _button(web, "✅ 提交"))
    assert any("诉求编号" in text for text in await web.texts())


async def test_replay_after_an_id_returns_only_later_messages(web: Web) -> None:
    session = await web.start()
    await _onboard(web, str(session["csrf"]))
    everything = (await web.client.get("/api/messages")).json()["messages"]
    ids = [m["id"] for m in everything]
    assert ids == sorted(ids) and len(ids) >= 6
    middle = ids[len(ids) // 2]
    later = (await web.client.get("/api/messages", params={"after": middle})).json()
    assert [m["id"] for m in later["messages"]] == [i for i in ids if i > middle]
    assert later["more"] is False
    assert any("主菜单" in m["text"] or m["buttons"] for m in later["messages"])


async def test_pushes_written_elsewhere_reach_the_chat_and_its_stream(web: Web) -> None:
    session = await web.as_demo("zhang-ayi")
    assert session["demo_identity"] is True and session["roles"] == ["resident"]
    before = (await web.client.get("/api/messages")).json()["messages"]
    last = before[-1]["id"] if before else 0
    async with web.db.sessions() as db, db.begin():
        identity = (
            await db.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == "zhang-ayi")
            )
        ).scalar_one()
        row = await enqueue(
            db,
            channel="demo",
            chat_id=identity.chat_id,
            message=Outgoing(text="您的诉求已受理"),
            person_id=identity.person_id,
            urgent=True,
        )
    assert await web.texts(after=last) == []  # not delivered yet: not shown
    events = await _read_stream(web, after=last, until=row.id)
    assert [e["text"] for e in events] == ["您的诉求已受理"]
    assert await web.texts(after=last) == ["您的诉求已受理"]


async def _read_stream(web: Web, *, after: int, until: int) -> list[dict[str, Any]]:
    """Open /api/events, deliver pending rows once the stream listens, and collect events
    until the row `until` arrives (then the hub closes, which ends the stream)."""
    events: list[dict[str, Any]] = []
    cookie = f"{COOKIE}={web.client.cookies[COOKIE]}"
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/events",
        "raw_path": b"/api/events",
        "query_string": f"after={after}".encode(),
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "http_version": "1.1",
        "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
    }
    status: list[int] = []
    pumped = False

    async def receive() -> dict[str, Any]:
        await web.hub.closing.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal pumped
        if message["type"] == "http.response.start":
            status.append(message["status"])
        chunk = message.get("body", b"").decode()
        if chunk.startswith("retry:") and not pumped:
            pumped = True
            assert await web.sender.pump() >= 1  # delivery wakes the stream
        if chunk.startswith("id:"):
            event = json.loads(chunk.split("data: ", 1)[1])
            events.append(event)
            if event["id"] == until:
                web.hub.close()

    await web.app(scope, receive, send)
    assert status == [200]
    return events


async def test_photo_of_the_wrong_type_is_refused_in_the_persons_language(
    web: Web, tmp_path: Path
) -> None:
    session = await web.start()
    files = {"file": ("photo.jpg", b"MZ\x90\x00 not an image", "image/jpeg")}
    response = await web.client.post(
        "/api/photo",
        files=files,
        data={"key": "photo-key-0001"},
        headers={CSRF_HEADER: str(session["csrf"])},
    )
    assert response.status_code == 415
    assert response.json()["error"] == "只能上传 JPEG、PNG 或 WebP 格式的照片。"
    assert not list((tmp_path / "uploads").glob("*"))


async def test_oversize_photo_is_refused(web: Web, tmp_path: Path) -> None:
    session = await web.start()
    big = JPEG + b"\x00" * (1024 * 1024)
    response = await web.client.post(
        "/api/photo",
        files={"file": ("big.jpg", big, "image/jpeg")},
        data={"key": "photo-key-0002"},
        headers={CSRF_HEADER: str(session["csrf"])},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "照片太大了，请上传不超过 1 MB 的照片。"
    assert not list((tmp_path / "uploads").glob("*"))


@pytest.mark.parametrize("content", [JPEG, PNG, WEBP])
async def test_photo_is_stored_under_a_generated_name(
    web: Web, tmp_path: Path, content: bytes
) -> None:
    session = await web.start()
    csrf = str(session["csrf"])
    await _onboard(web, csrf)
    await web.send(csrf, "report-key-0001", kind="text", text="楼道灯坏了")
    files = {"file": ("../../../etc/cron.d/evil.jpg", content, "image/jpeg")}
    response = await web.client.post(
        "/api/photo",
        files=files,
        data={"key": "photo-key-0003", "caption": "看这里"},
        headers={CSRF_HEADER: csrf},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "handled"
    stored = list((tmp_path / "uploads").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == content
    assert stored[0].name.split(".")[1] in {"jpg", "png", "webp"}
    assert "evil" not in stored[0].name and len(stored[0].stem) == 32
    served = await web.client.get(f"/api/photos/{stored[0].name}")
    assert served.status_code == 200 and served.content == content


@pytest.mark.parametrize(
    "name", ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "x.jpg", "0" * 32 + ".exe", "..%5Cx.jpg"]
)
async def test_photo_names_other_than_generated_ones_are_not_served(web: Web, name: str) -> None:
    await web.start()
    response = await web.client.get(f"/api/photos/{name}")
    assert response.status_code == 404


async def test_demo_people_and_demo_off(web: Web) -> None:
    people = (await web.client.get("/api/demo-people")).json()["people"]
    by_key = {p["key"]: p for p in people}
    assert by_key["zhang-ayi"]["name"] == "张阿姨"
    assert by_key["zhang-ayi"]["roles"][0][0] == "resident"
    assert by_key["grid-liu"]["roles"][0][0] == "grid_staff"
    assert {"volunteer-sun", "admin-zhao"} <= set(by_key)
    # Every demo person says who they are: a reporting unit's liaison too (not a grant).
    assert all(person["roles"] for person in people), people
    assert by_key["liaison-hua"]["roles"] == [["unit_liaison", "温泉建设集团"]]
    unknown = await web.client.post(
        "/api/session/demo", json={"person": "nobody"}, headers={CSRF_HEADER: "new"}
    )
    assert unknown.status_code == 404
    web.settings.webchat.demo = False
    assert (await web.client.get("/api/demo-people")).status_code == 404
    off = await web.client.post(
        "/api/session/demo", json={"person": "grid-liu"}, headers={CSRF_HEADER: "new"}
    )
    assert off.status_code == 404


async def test_a_role_change_rotates_the_cookie(web: Web) -> None:
    session = await web.start()
    # The first message makes the person (starting a session writes nothing).
    await web.send(str(session["csrf"]), "rotate-key-01", kind="text", text="/start")
    old_cookie = web.client.cookies[COOKIE]
    async with web.db.sessions() as db, db.begin():
        identity = (
            await db.execute(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == "webchat",
                    ChannelIdentity.chat_id == str(session["chat"]).split(":", 1)[1],
                )
            )
        ).scalar_one()
        unit = await db.scalar(select(RoleGrant.unit_id).limit(1))
        db.add(RoleGrant(person_id=identity.person_id, role=Role.volunteer, unit_id=unit))
    again = await web.client.get("/api/session")
    assert again.json()["roles"] == ["volunteer"]
    assert again.json()["csrf"] != session["csrf"]
    assert web.client.cookies[COOKIE] != old_cookie


async def test_health_and_metrics_show_no_secrets(web: Web) -> None:
    session = await web.start()
    await web.send(str(session["csrf"]), "metrics-key-01", kind="text", text="/start")
    web.app.state.web.settings = with_metrics_token(web.settings, "ops-token-01")
    operator = {"Authorization": "Bearer ops-token-01"}
    health = await web.client.get("/healthz", headers=operator)
    assert health.status_code == 200
    body = health.json()
    assert body["ok"] is True and body["database"] == "ok"
    assert {"pending", "due", "failed"} <= set(body["outbox"])
    assert "last_sweep_at" in body
    assert SECRET not in health.text and "postgresql" not in health.text
    metrics = (await web.client.get("/metrics", headers=operator)).text
    assert 'redgrid_updates_total{channel="webchat",status="handled"} 1' in metrics
    assert 'redgrid_http_responses_total{status="200"}' in metrics
    assert 'redgrid_outbox_rows{status="sent"}' in metrics
    assert SECRET not in metrics
    async with web.db.sessions() as db:
        sent = await db.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    assert f'redgrid_outbox_rows{{status="sent"}} {sent}' in metrics


async def test_text_over_the_length_limit_is_refused_with_the_limit(web: Web) -> None:
    session = await web.start()
    limit = web.settings.requests.max_text_length
    response = await web.send(
        str(session["csrf"]), "long-key-0001", kind="text", text="灯" * (limit + 1)
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_long" and str(limit) in response.json()["error"]
    assert await web.texts() == []  # never reached the conversation
