"""At-least-once delivery made exactly-once, webhook secrets, blocked users, flood control,
escaping: through a real framework and the fake Bot API."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.config import Settings
from models import ChannelIdentity, OutboxMessage, ProcessedUpdate, Request, RequestPhoto
from tests.conftest import Clock
from tests.e2e.conftest import SECRET, Rig, build_rig
from tests.fakes.bot_api import texts
from tests.handlers.journey import onboard

if TYPE_CHECKING:
    from tests.conftest import TestDB


async def _count(rig: Rig, model: type, *where: Any) -> int:
    async with rig.db.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def _submit_without_confirming(rig: Rig) -> Any:
    """A user one press away from submitting a request; returns that user."""
    user = rig.user()
    await onboard(user)  # type: ignore[arg-type]
    await user.send("楼道灯坏了好几天了，晚上黑漆漆的")  # the draft, with its 提交 button
    return user


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_webhook_update_delivered_twice_creates_one_request(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, "webhook", demo, settings, clock)
    await rig.start_webhook()
    try:
        user = await _submit_without_confirming(rig)
        await user.press("✅ 提交")
        replies = len(user.messages)
        await rig.api.redeliver(user.last_update)
        await rig.api.wait_confirmed(user.last_update["update_id"])
        assert await _count(rig, Request) == 1
        assert len(user.messages) == replies  # nothing answered twice
        statuses = [s for u, s in rig.api.webhook.deliveries if u == user.last_update["update_id"]]
        assert statuses == [200, 200]
    finally:
        await rig.close()


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_polling_update_seen_again_after_a_crash_creates_one_request(
    framework: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    rig = await build_rig(framework, "polling", demo, settings, clock)
    await rig.start_polling()
    user = await _submit_without_confirming(rig)
    await rig.close_poller()

    class Crash(BaseException):
        """The process dies after the commit, before the next getUpdates confirms."""

    async def handle_then_die(update: dict[str, Any]) -> bool:
        await rig.handle(update)
        raise Crash

    crashed = await rig.start_polling(handle_then_die)
    await user.press("✅ 提交", wait=False)
    with pytest.raises(Crash):
        await asyncio.wait_for(crashed, 10)
    update_id = user.last_update["update_id"]
    assert update_id not in rig.api.confirmed  # Telegram still holds it
    assert await _count(rig, Request) == 1
    replies = len(user.messages)
    await rig.start_polling()  # the restarted process
    try:
        await rig.api.wait_confirmed(update_id)
        assert await _count(rig, Request) == 1
        assert len(user.messages) == replies
    finally:
        await rig.close()


async def test_webhook_refuses_calls_without_the_right_secret(rig: Rig) -> None:
    if rig.mode != "webhook":
        pytest.skip("webhook only")
    update = {
        "update_id": 987654,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 777, "type": "private"},
            "from": {"id": 777, "is_bot": False, "first_name": "x"},
            "text": "/start",
        },
    }
    async with httpx.AsyncClient() as http:
        missing = await http.post(rig.webhook_url, json=update)
        wrong = await http.post(
            rig.webhook_url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
        )
    assert missing.status_code == 401
    assert wrong.status_code == 403
    assert await _count(rig, ProcessedUpdate, ProcessedUpdate.update_id == "987654") == 0
    assert not rig.api.messages.get("777")


async def test_webhook_secret_changed_is_set_again(rig: Rig) -> None:
    if rig.mode != "webhook":
        pytest.skip("webhook only")
    from bot.channels.telegram_runtime import ensure_webhook

    assert rig.api.webhook.secret == SECRET
    assert not await ensure_webhook(rig.client, url=rig.webhook_url, secret=SECRET)
    rig.api.webhook.secret = "old-secret"  # as if the deployer rotated it
    user = rig.user()
    await user.send("/start", wait=False)
    for _ in range(200):
        if rig.api.webhook.last_error:
            break
        await asyncio.sleep(0.01)
    assert "403" in rig.api.webhook.last_error
    assert await ensure_webhook(rig.client, url=rig.webhook_url, secret=SECRET)
    await rig.api.wait_confirmed(user.last_update["update_id"])
    assert user.messages


async def test_blocked_user_is_marked_unreachable(rig: Rig) -> None:
    user = rig.user()
    await user.send("/start")
    rig.api.block(user.chat_id)
    await user.send("/menu")
    async with rig.db.sessions() as session:
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == user.chat_id)
            )
        ).scalar_one()
        assert identity.unreachable_at is not None
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
        assert "unreachable" in statuses and "pending" not in statuses


async def test_flood_control_pauses_then_delivers_everything(rig: Rig) -> None:
    user = rig.user()
    await user.send("/start")
    rig.api.fail(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 5",
        retry_after=5,
        times=1,
    )
    await user.send("/help")
    assert user.texts == []  # held back, not lost
    async with rig.db.sessions() as session:
        pending = (
            (await session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")))
            .scalars()
            .all()
        )
        assert pending and all(row.not_before is not None for row in pending)
    assert await rig.sender.pump() == 0  # still paused
    rig.clock.advance(seconds=6)
    await rig.sender.pump()
    assert "/new" in " ".join(texts(user.new_messages))
    assert await _count(rig, OutboxMessage, OutboxMessage.status != "sent") == 0


async def test_resident_text_is_escaped(rig: Rig) -> None:
    user = rig.user()
    await user.send("/start")
    await user.send("<script>&<b>")  # short: searched as a compound name and echoed back
    shown = " ".join(user.texts)
    assert "<script>&<b>" in shown  # the fake parses HTML as Telegram does
    sent = [c for c in rig.api.calls_of("sendMessage") if "script" in str(c.params.get("text"))]
    assert sent and all("&lt;script&gt;" in str(c.params["text"]) for c in sent)


async def test_photo_caption_voice_and_sticker(rig: Rig) -> None:
    user = rig.user()
    await onboard(user)  # type: ignore[arg-type]
    await user.send("楼道灯坏了")
    await user.send_photo("灯在三楼", size=4096)
    largest = user.last_update["message"]["photo"][-1]["file_id"]
    await user.send_voice()
    await user.send_sticker()
    assert user.texts  # something polite, not silence
    await user.press("✅ 提交")
    async with rig.db.sessions() as session:
        photos = (await session.execute(select(RequestPhoto))).scalars().all()
    kept = {(p.kind, p.file_id, p.file_size) for p in photos}
    assert ("photo", largest, 4096) in kept
    assert any(kind == "voice" for kind, _, _ in kept)
    assert await rig.client.download(largest) == rig.api.files[largest]
