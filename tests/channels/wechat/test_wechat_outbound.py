"""Pushes to residents: inside the 48-hour window and its quota by the customer-service API,
outside it a template message for the push's kind, or waiting (in order) until the resident
writes; WeChat's error codes; one token for every worker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.wechat.tokens import TokenStore
from bot.messages import Button, Outgoing
from bot.outbox import enqueue
from bot.services.org import actions as org_actions
from models import ChannelIdentity, Conversation, OutboxMessage
from tests.channels.wechat.conftest import WechatRig, open_rig
from tests.conftest import Clock, TestDB
from tests.fakes.wechat_callback import WechatUser

TEMPLATES = {
    "status": {
        "template_id": "TPL-status",
        "fields": {"first": "{text}", "keyword1": "{reference}", "remark": "{invite}"},
    }
}
PUSH = "诉求 JM-2026-000042 已受理，网格正在安排办理。"


@pytest.fixture
async def rig(
    demo: TestDB, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WechatRig]:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    opened = await open_rig(demo, clock, tmp_path / "uploads", "safe")
    try:
        yield opened
    finally:
        await opened.close()


async def _resident(rig: WechatRig, openid: str) -> WechatUser:
    """A resident who followed and wrote once (their window is open)."""
    user = rig.driver.user(openid)
    await user.subscribe()
    await user.send("你好")
    return user


async def _push(rig: WechatRig, openid: str, *texts: str, buttons: bool = False) -> list[int]:
    ids = []
    async with rig.db.sessions() as session, session.begin():
        for text in texts:
            rows = [[Button("评价", "v1:ev:1")]] if buttons else []
            row = await enqueue(
                session, channel="wechat", chat_id=openid, message=Outgoing(text, rows)
            )
            ids.append(row.id)
    while await rig.sender.pump():
        pass
    return ids


async def _rows(rig: WechatRig, ids: list[int]) -> list[tuple[str, str]]:
    async with rig.db.sessions() as session:
        result = await session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error)
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.id)
        )
        return [(status, error) for status, error in result]


def _close_windows(rig: WechatRig) -> None:
    rig.clock.advance(hours=49)


async def test_inside_the_window_a_push_is_a_menu_message(rig: WechatRig) -> None:
    user = await _resident(rig, "o_out_1")
    ids = await _push(rig, user.openid, PUSH, buttons=True)
    assert await _rows(rig, ids) == [("sent", "")]
    last = rig.api.sent[user.openid][-1]
    assert last["msgtype"] == "msgmenu"
    assert last["msgmenu"]["list"] == [{"id": "v1:ev:1", "content": "评价"}]


async def test_outside_the_window_a_push_is_a_template_naming_the_reference(
    demo: TestDB, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    rig = await open_rig(demo, clock, tmp_path / "uploads", "safe", templates=TEMPLATES)
    try:
        user = await _resident(rig, "o_out_2")
        _close_windows(rig)
        ids = await _push(rig, user.openid, PUSH)
        assert await _rows(rig, ids) == [("sent", "")]
        (template,) = rig.api.templates[user.openid]
        assert template["template_id"] == "TPL-status"
        assert template["data"]["keyword1"]["value"] == "JM-2026-000042"
        assert "回复" in template["data"]["remark"]["value"]
        assert template["client_msg_id"]
    finally:
        await rig.close()


async def test_without_a_template_pushes_wait_and_come_in_order_when_the_resident_writes(
    rig: WechatRig,
) -> None:
    user = await _resident(rig, "o_out_3")
    _close_windows(rig)
    ids = await _push(rig, user.openid, "第一条", "第二条", "第三条")
    states = await _rows(rig, ids)
    assert states[0][0] == "pending" and "waiting" in states[0][1]
    assert [s for s, _ in states[1:]] == ["pending", "pending"]
    assert not rig.api.templates[user.openid]
    before = len(user.messages)
    await user.send("我回来了")
    assert [s for s, _ in await _rows(rig, ids)] == ["sent"] * 3
    texts = [m.get("text", {}).get("content") for m in user.messages[before:]]
    pushed = [t for t in texts if t in ("第一条", "第二条", "第三条")]
    assert pushed == ["第一条", "第二条", "第三条"]


async def test_the_quota_per_message_is_kept_then_pushes_wait(rig: WechatRig) -> None:
    user = await _resident(rig, "o_out_4")
    sent_before = len(rig.api.sent[user.openid])
    texts = [f"消息{n}" for n in range(7)]
    ids = await _push(rig, user.openid, *texts)
    states = [s for s, _ in await _rows(rig, ids)]
    allowed = rig.settings.wechat.quota_per_message
    assert states[:allowed] == ["sent"] * allowed
    assert states[allowed:] == ["pending"] * (len(texts) - allowed)
    assert len(rig.api.sent[user.openid]) - sent_before == allowed


async def test_error_codes(
    demo: TestDB, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    rig = await open_rig(demo, clock, tmp_path / "uploads", "safe", templates=TEMPLATES)
    try:
        user = await _resident(rig, "o_err_1")
        # -1: busy, retried later.
        rig.api.fail("message/custom/send", -1)
        ids = await _push(rig, user.openid, "忙")
        assert (await _rows(rig, ids))[0][0] == "pending"
        rig.clock.advance(minutes=5)
        while await rig.sender.pump():
            pass
        assert (await _rows(rig, ids))[0][0] == "sent"
        # 40001: the token is refreshed once and the call made again.
        rig.api.expire_token()
        fetches = rig.api.token_fetches
        ids = await _push(rig, user.openid, "换令牌")
        assert (await _rows(rig, ids))[0][0] == "sent"
        assert rig.api.token_fetches == fetches + 1
        # 45047 and 45015: a template instead.
        for code in (45047, 45015):
            await user.send("再说一句")  # the window and its quota open again
            rig.api.fail("message/custom/send", code)
            ids = await _push(rig, user.openid, f"{PUSH} {code}")
            assert (await _rows(rig, ids))[0][0] == "sent"
        assert len(rig.api.templates[user.openid]) == 2
        # 45009: the account's daily quota: wait until it resets at midnight, Beijing time.
        user2 = await _resident(rig, "o_err_2")
        rig.api.fail("message/custom/send", 45009)
        ids = await _push(rig, user2.openid, "配额")
        async with rig.db.sessions() as session:
            row = await session.get(OutboxMessage, ids[0])
        assert row is not None and row.status == "pending" and row.not_before is not None
        assert row.not_before - rig.clock() > timedelta(hours=1)
        # 43004: the resident unfollowed: unreachable, nothing retried.
        user3 = await _resident(rig, "o_err_3")
        rig.api.unfollow(user3.openid)
        ids = await _push(rig, user3.openid, "取关了")
        assert (await _rows(rig, ids))[0][0] == "unreachable"
        async with rig.db.sessions() as session:
            identity = (
                await session.execute(
                    select(ChannelIdentity).where(ChannelIdentity.external_id == user3.openid)
                )
            ).scalar_one()
        assert identity.unreachable_at is not None
    finally:
        await rig.close()


async def test_one_token_for_every_worker(rig: WechatRig) -> None:
    """Two workers share the database's token; after WeChat refuses it, the first to
    refresh fetches a new one and the second re-reads it instead of fetching again."""
    api = rig.channel.api

    def fetch(force: bool) -> Any:
        return api.stable_token(force_refresh=force)

    first = TokenStore(sessions=rig.db.sessions, key=api.app_id, fetch=fetch, clock=rig.clock)
    second = TokenStore(sessions=rig.db.sessions, key=api.app_id, fetch=fetch, clock=rig.clock)
    token = await first.get()
    assert await second.get() == token
    assert first.refreshes + second.refreshes == 1
    fresh = await first.refresh(stale=token)
    assert fresh != token
    assert await second.refresh(stale=token) == fresh
    assert first.refreshes + second.refreshes == 2


def _template(kind: str) -> dict[str, object]:
    return {"template_id": f"TPL-{kind}", "fields": {"first": "{text}", "remark": "{invite}"}}


async def _push_kinds(rig: WechatRig, openid: str, *kinds: str) -> list[int]:
    ids = []
    async with rig.db.sessions() as session, session.begin():
        for kind in kinds:
            message = Outgoing(f"{kind or 'reply'} 的推送", kind=kind)
            row = await enqueue(session, channel="wechat", chat_id=openid, message=message)
            ids.append(row.id)
    while await rig.sender.pump():
        pass
    return ids


async def test_outside_the_window_each_push_takes_its_kinds_template(
    demo: TestDB, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    templates = {kind: _template(kind) for kind in ("status", "cobuild", "meeting")}
    rig = await open_rig(demo, clock, tmp_path / "uploads", "safe", templates=templates)
    try:
        user = await _resident(rig, "o_kind_1")
        _close_windows(rig)
        ids = await _push_kinds(rig, user.openid, "cobuild", "meeting", "", "status", "broadcast")
        states = [state for state, _ in await _rows(rig, ids)]
        assert states == ["sent", "sent", "sent", "sent", "pending"]  # no broadcast template
        used = [t["template_id"] for t in rig.api.templates[user.openid]]
        assert used == ["TPL-cobuild", "TPL-meeting", "TPL-status", "TPL-status"]
    finally:
        await rig.close()
    # A default template serves the kinds without one of their own.
    templates = {"status": _template("status"), "default": _template("default")}
    rig = await open_rig(demo, clock, tmp_path / "uploads2", "safe", templates=templates)
    try:
        user = await _resident(rig, "o_kind_2")
        _close_windows(rig)
        ids = await _push_kinds(rig, user.openid, "task", "status")
        assert [state for state, _ in await _rows(rig, ids)] == ["sent", "sent"]
        used = [t["template_id"] for t in rig.api.templates[user.openid]]
        assert used == ["TPL-default", "TPL-status"]
    finally:
        await rig.close()


async def _choices(rig: WechatRig, openid: str) -> list[str]:
    async with rig.db.sessions() as session:
        query = select(Conversation.data).where(Conversation.chat_id == openid)
        data = (await session.execute(query)).scalar_one()
    return list(data.get("_choices", []))


async def test_a_pushs_numbered_choices_are_answered_by_number_later(rig: WechatRig) -> None:
    from tests.channels.wechat.test_wechat_journey import register_by_qr

    user = rig.driver.user("o_choice_1")
    await register_by_qr(rig, user)
    menu = org_actions.MENU.data()
    stale = [Button(f"旧选项{n}", f"v1:gone:{n}") for n in range(11)]
    many = [[stale[0]], [Button("回到菜单", menu)], *[[b] for b in stale[1:]]]
    async with rig.db.sessions() as session, session.begin():
        await enqueue(
            session,
            channel="wechat",
            chat_id=user.openid,
            message=Outgoing("您的诉求有了新进展，请选择：", many, kind="status"),
        )
    while await rig.sender.pump():
        pass
    pushed = user.messages[-1]
    assert pushed["msgtype"] == "text" and "2. 回到菜单" in pushed["text"]["content"]
    assert (await _choices(rig, user.openid))[1] == menu
    await user.send("2")  # later, typed: the push's second choice, pressed
    assert "请问需要办理什么" in user.last_text, user.texts

    # A menu message's choices too; a turn's own choices come after and win.
    await _push(rig, user.openid, "请评价：", buttons=True)
    assert user.messages[-1]["msgtype"] == "msgmenu"
    assert "v1:ev:1" not in await _choices(rig, user.openid)  # no kind: a turn's reply
    async with rig.db.sessions() as session, session.begin():
        message = Outgoing("回到菜单？", [[Button("回到菜单", menu)]], kind="notice")
        await enqueue(session, channel="wechat", chat_id=user.openid, message=message)
    while await rig.sender.pump():
        pass
    assert await _choices(rig, user.openid) == [menu]
    await user.send("1")
    assert "请问需要办理什么" in user.last_text, user.texts

    # Outside the window the push waits (no template): nothing shown, nothing remembered.
    _close_windows(rig)
    async with rig.db.sessions() as session, session.begin():
        message = Outgoing("过期", [[Button("旧", "v1:gone:x")]], kind="status")
        await enqueue(session, channel="wechat", chat_id=user.openid, message=message)
    while await rig.sender.pump():
        pass
    assert "v1:gone:x" not in await _choices(rig, user.openid)


async def test_sends_to_one_resident_are_paced_others_are_not_held_up(
    demo: TestDB, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    rig = await open_rig(demo, clock, tmp_path / "uploads", "safe", sends_per_openid_per_s=4.0)
    try:
        first = await _resident(rig, "o_pace_1")
        second = await _resident(rig, "o_pace_2")
        before = {u.openid: len(rig.api.sent[u.openid]) for u in (first, second)}
        started = time.monotonic()
        await _push(rig, first.openid, "一", "二", "三", "四", "五")  # 1 + 4 waits of 0.25 s
        paced = time.monotonic() - started
        started = time.monotonic()
        await _push(rig, second.openid, "甲")
        other = time.monotonic() - started
        assert len(rig.api.sent[first.openid]) - before[first.openid] == 5
        assert rig.api.texts(first.openid)[-5:] == ["一", "二", "三", "四", "五"]
        assert paced >= 0.9, paced
        assert other < 0.25, other  # another resident's bucket is full
        assert len(rig.api.sent[second.openid]) - before[second.openid] == 1
    finally:
        await rig.close()
