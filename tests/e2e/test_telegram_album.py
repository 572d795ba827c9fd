"""Photos picked together, on both frameworks and both modes: Telegram delivers one update per
photo (one media_group_id), and the resident gets one draft for the album, not one per photo.
Every photo's update is still handled and recorded by itself, so none is lost on the way."""

from __future__ import annotations

from sqlalchemy import select

from models import Conversation, OutboxMessage, OutboxStatus, ProcessedUpdate
from tests.e2e.conftest import Rig
from tests.fakes.bot_api import FakeUser
from tests.handlers.journey import onboard


def _drafts(messages: list[dict[str, object]]) -> list[str]:
    return [str(m.get("text", "")) for m in messages if "照片：" in str(m.get("text", ""))]


async def _after_the_wait(rig: Rig) -> None:
    """The album's wait for a next photo is over: the paced sender sends what is due."""
    rig.clock.advance(seconds=3)
    await rig.sender.pump()


async def _photos_in_draft(rig: Rig, user: FakeUser) -> int:
    async with rig.db.sessions() as session:
        data = await session.scalar(
            select(Conversation.data).where(
                Conversation.channel == "telegram", Conversation.chat_id == user.chat_id
            )
        )
    return len((data or {}).get("photos", []))


async def test_an_album_gets_one_draft(rig: Rig) -> None:
    resident = rig.user(first_name="张三")
    await onboard(resident)  # type: ignore[arg-type]
    seen = len(resident.messages)
    await resident.send_album(3, caption="楼道灯坏了，晚上黑漆漆的")
    assert _drafts(resident.messages[seen:]) == []  # waiting for the album's next photo
    await _after_the_wait(rig)
    (draft,) = _drafts(resident.messages[seen:])
    assert "照片：3 张" in draft and "楼道灯坏了" in draft
    assert "✅ 提交" in resident.buttons

    # Every photo's update was recorded; a redelivered one changes nothing.
    album_updates = resident.album_updates
    assert len(album_updates) == 3
    async with rig.db.sessions() as session:
        recorded = set(
            (
                await session.scalars(
                    select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == "telegram")
                )
            ).all()
        )
        statuses = sorted(
            (
                await session.scalars(
                    select(OutboxMessage.status).where(
                        OutboxMessage.chat_id == resident.chat_id,
                        OutboxMessage.id > 0,
                        OutboxMessage.status.in_([OutboxStatus.superseded, OutboxStatus.pending]),
                    )
                )
            ).all()
        )
    assert {str(u["update_id"]) for u in album_updates} <= recorded
    assert statuses == [OutboxStatus.superseded] * 2
    count = len(resident.messages)
    update_id = await rig.api.redeliver(album_updates[-1])
    await rig.api.wait_confirmed(update_id)
    await _after_the_wait(rig)
    assert len(resident.messages) == count and await _photos_in_draft(rig, resident) == 3

    await resident.press("✅ 提交")
    assert any("已提交，诉求编号" in text for text in resident.texts), resident.texts


async def test_a_late_photo_of_an_album_is_kept_and_answered(rig: Rig) -> None:
    """The album's last photo comes after the first one's draft went out (the bot restarted
    in between, say): nothing is lost, the late photo gets its own draft with all of them."""
    resident = rig.user(first_name="李四")
    await onboard(resident)  # type: ignore[arg-type]
    seen = len(resident.messages)
    await resident.send_album(2, caption="小区门口的路灯不亮了")
    await _after_the_wait(rig)
    (first,) = _drafts(resident.messages[seen:])
    assert "照片：2 张" in first
    await resident.send_album(1, group=resident.last_album, first=2)
    await _after_the_wait(rig)
    drafts = _drafts(resident.messages[seen:])
    assert len(drafts) == 2 and "照片：3 张" in drafts[-1]
    assert await _photos_in_draft(rig, resident) == 3


async def test_photos_sent_one_by_one_each_get_their_draft_at_once(rig: Rig) -> None:
    """Not an album: every photo is answered right away, as before."""
    resident = rig.user(first_name="王五")
    await onboard(resident)  # type: ignore[arg-type]
    first = await resident.send_photo("小区门口的路灯不亮了")
    assert "照片：1 张" in _drafts(first)[0]
    second = await resident.send_photo()
    assert "照片：2 张" in _drafts(second)[0]
