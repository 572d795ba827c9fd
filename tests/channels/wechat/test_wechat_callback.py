"""The callback: URL verification, refusals (bad signature, stale timestamp, replayed nonce,
plain push in safe mode), retries and duplicates making one update, and the answer when the
turn is not ready in time."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from bot.channels.wechat.crypto import sign
from bot.core.engine import ProcessResult
from bot.messages import Incoming
from models import ProcessedUpdate
from tests.channels.wechat.conftest import WechatRig
from tests.fakes.wechat_callback import TOKEN


async def _processed(rig: WechatRig) -> int:
    async with rig.db.sessions() as session:
        query = (
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.channel == "wechat")
        )
        return int(await session.scalar(query) or 0)


def _text(rig: WechatRig, openid: str, text: str, msg_id: str) -> str:
    return rig.driver.xml(openid, {"MsgType": "text", "Content": text, "MsgId": msg_id})


async def test_url_verification_echoes_only_when_signed(rig: WechatRig) -> None:
    timestamp = str(int(rig.clock().timestamp()))
    query = {"timestamp": timestamp, "nonce": "42", "echostr": "echo-5150"}
    async with httpx.AsyncClient() as client:
        good = await client.get(
            rig.driver.url, params={**query, "signature": sign(TOKEN, timestamp, "42")}
        )
        bad = await client.get(rig.driver.url, params={**query, "signature": "0" * 40})
    assert (good.status_code, good.text) == (200, "echo-5150")
    assert bad.status_code == 403 and "echo" not in bad.text


async def test_bad_signature_stale_timestamp_and_replayed_nonce_are_refused(
    rig: WechatRig,
) -> None:
    rig.driver.tries = 1
    xml = _text(rig, "o_guard_1", "你好", "9001")
    query, body = rig.driver.signed(xml, nonce="77", timestamp=str(int(rig.clock().timestamp())))
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            rig.driver.url, params={**query, "signature": "f" * 40}, content=body.encode()
        )
        assert forged.status_code == 403
        stale_at = str(int(rig.clock().timestamp()) - 301)
        stale = await rig.driver.post(xml, nonce="78", timestamp=stale_at)
        assert stale.statuses == [403]
        first = await rig.driver.post(xml, nonce="79")
        assert first.ok
        other = _text(rig, "o_guard_1", "另一条", "9002")
        replayed = await rig.driver.post(other, nonce="79", timestamp=query["timestamp"])
        assert replayed.statuses == [403]
    await rig.callback.idle()
    assert await _processed(rig) == 1


async def test_three_deliveries_of_one_msg_id_make_one_update(rig: WechatRig) -> None:
    xml = _text(rig, "o_retry_1", "你好", "9100")
    answers = []
    for nonce in ("1", "2", "2"):  # a retry with a new nonce, and the same delivery twice
        delivery = await rig.driver.post(xml, nonce=nonce)
        await rig.callback.idle()
        answers.append(delivery)
    assert all(d.ok for d in answers)
    assert answers[0].passive is not None
    assert [d.body for d in answers[1:]] == ["success", "success"]
    assert await _processed(rig) == 1


async def test_a_plain_push_is_refused_in_safe_mode(rig: WechatRig) -> None:
    if rig.settings.wechat.encrypt_mode != "safe":
        return
    rig.driver.mode, rig.driver.tries = "plain", 1
    delivery = await rig.driver.post(_text(rig, "o_plain_1", "你好", "9200"))
    assert delivery.statuses == [400]
    assert await _processed(rig) == 0


async def test_a_turn_not_saved_in_time_is_tried_again_and_answered_once(
    rig: WechatRig,
) -> None:
    """Nothing is answered before it is saved: a turn slower than the budget gets no
    answer (WeChat tries again); the retry finds it saved, answers `success`, and the
    reply went by the customer-service API."""
    rig.callback.settings = rig.settings.wechat.model_copy(update={"reply_budget_s": 0.2})
    engine, calls = rig.engine, []

    class SlowFirstTurn:
        async def process(self, incoming: Incoming) -> ProcessResult:
            calls.append(incoming.update_id)
            if len(calls) == 1:
                await asyncio.sleep(0.5)  # the database is slow this once
            return await engine.process(incoming)

    rig.callback.engine = SlowFirstTurn()  # type: ignore[assignment]
    user = rig.driver.user("o_slow_1")
    delivery = await user.subscribe()
    assert delivery.statuses[0] == 503 and delivery.ok, (delivery, user.messages)
    assert delivery.body == "success"
    assert user.texts and not any(m.get("passive") for m in user.messages)
    assert await _processed(rig) == 1
    assert len(calls) == 2 and calls[0] == calls[1]
