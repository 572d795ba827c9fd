"""The callback: WeCom's URL check, refusals of what is not WeCom's, text from a member
through the engine, retries as one update, an invite redeemed from WeCom."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from bot.channels.wecom.inbound import parse
from models import ChannelIdentity, ProcessedUpdate, Role, RoleGrant
from tests.channels.wecom.conftest import WecomRig
from tests.fakes.wecom_callback import AES_KEY, WecomDriver


async def test_url_check_answers_the_decrypted_echostr(rig: WecomRig) -> None:
    response = await rig.driver.verify_url("echo-1234567")
    assert (response.status_code, response.text) == (200, "echo-1234567")


async def test_a_forged_or_stale_push_is_refused(rig: WecomRig) -> None:
    member = await rig.member()
    xml = rig.driver.xml(member.userid, {"MsgType": "text", "Content": "/queue", "MsgId": "91"})
    forger = WecomDriver(rig.driver.url, api=rig.api, clock=rig.clock, token="not-the-token")
    try:
        assert await forger.post(xml) == 403
    finally:
        await forger.close()
    nonce, timestamp = "77", str(int(rig.clock().timestamp()) - 3600)
    query, body = rig.driver.sealed(xml, nonce, timestamp)
    async with httpx.AsyncClient() as http:
        stale = await http.post(rig.driver.url, params=query, content=body.encode())
        query["msg_signature"] = "0" * 40
        bad = await http.post(rig.driver.url, params=query, content=body.encode())
    assert (stale.status_code, bad.status_code) == (403, 403)
    assert rig.api.sent[member.userid] == []
    assert AES_KEY  # the driver's key is the app's


async def test_a_command_from_a_member_is_answered_in_wecom(rig: WecomRig) -> None:
    member = await rig.member()
    assert await member.send("/queue") == 200
    assert member.texts, "no answer reached WeCom"
    assert rig.api.token_fetches == 1


async def test_a_retried_push_is_one_update(rig: WecomRig) -> None:
    member = await rig.member()
    xml = rig.driver.xml(member.userid, {"MsgType": "text", "Content": "/help", "MsgId": "4242"})
    assert await rig.driver.post(xml) == 200
    answered = len(member.all_texts)
    assert await rig.driver.post(xml) == 200  # WeCom again (another nonce, the same MsgId)
    assert len(member.all_texts) == answered
    async with rig.db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.update_id.contains("4242"))
        )
    assert count == 1


async def test_an_invite_code_typed_in_wecom_grants_the_role(rig: WecomRig) -> None:
    admin = await rig.member(role=Role.admin, unit="heshun")
    await admin.send("/invite grid_staff heshun-1")
    code = next(w for t in reversed(admin.all_texts) for w in t.split() if w.startswith("inv_"))
    newcomer = rig.driver.member("wx-newcomer")
    await newcomer.send(code)
    assert any("网格员" in t for t in newcomer.texts), newcomer.texts
    async with rig.db.sessions() as session:
        person_id = await session.scalar(
            select(ChannelIdentity.person_id).where(
                ChannelIdentity.channel == "wecom", ChannelIdentity.external_id == "wx-newcomer"
            )
        )
        roles = list(
            await session.scalars(select(RoleGrant.role).where(RoleGrant.person_id == person_id))
        )
    assert roles == [Role.grid_staff]


def test_card_clicks_and_retries_have_stable_update_ids() -> None:
    click = (
        "<xml><ToUserName>c</ToUserName><FromUserName>u1</FromUserName><CreateTime>5</CreateTime>"
        "<MsgType>event</MsgType><Event>template_card_event</Event><EventKey>v1:acc:7</EventKey>"
        "<TaskId>rg_1</TaskId><ResponseCode>rc</ResponseCode><AgentID>1</AgentID></xml>"
    )
    first, again = parse(click), parse(click)
    assert first.incoming is not None and again.incoming is not None
    assert first.incoming.update_id == again.incoming.update_id
    assert (first.incoming.kind, first.incoming.button_data) == ("button", "v1:acc:7")
    assert first.incoming.message_id == "rg_1"
    assert first.click is not None and first.click.response_code == "rc"
    other = parse(click.replace("rg_1", "rg_2"))
    assert other.incoming is not None and other.incoming.update_id != first.incoming.update_id


async def test_a_nonce_replayed_with_another_body_is_refused(rig: WecomRig) -> None:
    member = await rig.member()
    first = rig.driver.xml(member.userid, {"MsgType": "text", "Content": "/help", "MsgId": "71"})
    other = rig.driver.xml(member.userid, {"MsgType": "text", "Content": "/queue", "MsgId": "72"})
    timestamp = str(int(rig.clock().timestamp()))
    sealed_first = rig.driver.sealed(first, "31337", timestamp)
    sealed_other = rig.driver.sealed(other, "31337", timestamp)
    async with httpx.AsyncClient() as http:
        # The same bytes again are WeCom retrying; the nonce on another body is a replay.
        for (query, body), expected in (
            (sealed_first, 200),
            (sealed_first, 200),
            (sealed_other, 403),
        ):
            response = await http.post(rig.driver.url, params=query, content=body.encode())
            assert response.status_code == expected
