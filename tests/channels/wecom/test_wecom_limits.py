"""Delivery to WeCom within its limits, on the test clock (nothing sleeps for real): a burst
of 100 pushes to one worker never exceeds 30 a minute (WeCom would drop the excess without a
word); the token refreshed once when refused; busy retried; a member outside the visible
range unreachable, the admin told once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.messages import Outgoing
from bot.outbox import Sender, enqueue
from bot.outbox.limits import Limits
from models import ChannelIdentity, OutboxMessage, OutboxStatus, Role
from tests.channels.wecom.conftest import ROBOT_KEY, WecomRig


def paced_sender(rig: WecomRig) -> Sender:
    """A sender with the product's limits, waiting on the test clock."""
    return Sender(
        rig.db.sessions,
        {rig.channel.name: rig.channel, rig.robots.name: rig.robots},
        rig.settings.outbox,
        rig.settings.tz,
        rig.clock,
        "paced",
        sleep=rig.clock.sleep,
        limits=Limits.from_settings(rig.settings.outbox),
    )


async def push(rig: WecomRig, chat_id: str, texts: list[str], channel: str = "wecom") -> None:
    async with rig.db.sessions() as session, session.begin():
        for text in texts:
            await enqueue(
                session, channel=channel, chat_id=chat_id, message=Outgoing(text=text), flush=False
            )


async def drain(sender: Sender) -> None:
    for _ in range(500):
        if not await sender.pump():
            return


async def statuses(rig: WecomRig, channel: str = "wecom") -> list[str]:
    async with rig.db.sessions() as session:
        query = select(OutboxMessage.status).where(OutboxMessage.channel == channel)
        return [str(s) for s in await session.scalars(query)]


async def test_a_burst_of_100_reaches_the_worker_within_30_a_minute(rig: WecomRig) -> None:
    worker = await rig.member()
    started = rig.clock()
    await push(rig, worker.userid, [f"第 {n} 条推送" for n in range(100)])
    await drain(paced_sender(rig))
    assert await statuses(rig) == [OutboxStatus.sent] * 100
    assert len(rig.api.sent[worker.userid]) == 100 and not rig.api.dropped
    assert rig.api.most_in(worker.userid, timedelta(minutes=1)) <= 30
    assert rig.clock() - started >= timedelta(minutes=3)  # paced, on the test clock
    texts = rig.api.texts(worker.userid)
    assert texts == [f"第 {n} 条推送" for n in range(100)]  # in order


async def test_unpaced_the_fake_drops_what_wecom_would(rig: WecomRig) -> None:
    """The control: sent straight through the channel, past 30 a minute is lost."""
    worker = await rig.member()
    for n in range(40):
        result = await rig.channel.send(worker.userid, Outgoing(text=f"直发 {n}"))
        assert result.ok
    assert len(rig.api.sent[worker.userid]) == 30 and rig.api.dropped[worker.userid] == 10


async def test_an_expired_token_is_refreshed_once(rig: WecomRig) -> None:
    worker = await rig.member()
    assert (await rig.channel.send(worker.userid, Outgoing(text="一"))).ok
    rig.api.expire_token()
    assert (await rig.channel.send(worker.userid, Outgoing(text="二"))).ok
    assert rig.api.token_fetches == 2
    assert rig.api.texts(worker.userid) == ["一", "二"]


async def test_busy_is_retried_with_backoff(rig: WecomRig) -> None:
    worker = await rig.member()
    rig.api.fail("message/send", -1, times=2)
    await push(rig, worker.userid, ["稍后送达"])
    sender = paced_sender(rig)
    await drain(sender)
    async with rig.db.sessions() as session:
        row = (await session.execute(select(OutboxMessage))).scalars().one()
    assert (row.status, row.attempts) == (OutboxStatus.pending, 1)
    for _ in range(3):
        rig.clock.advance(minutes=5)
        await drain(sender)
    assert await statuses(rig) == [OutboxStatus.sent]
    assert rig.api.texts(worker.userid) == ["稍后送达"]


async def test_outside_the_visible_range_is_unreachable_and_the_admin_told_once(
    rig: WecomRig,
) -> None:
    admin = await rig.member(role=Role.admin, unit="heshun")
    gone = await rig.member()  # grid staff of heshun-1, under heshun
    rig.api.members.discard(gone.userid)  # removed from the app's visible range
    await push(rig, gone.userid, ["第一条", "第二条"])
    sender = paced_sender(rig)
    await drain(sender)
    await push(rig, gone.userid, ["第三条"])
    await drain(sender)
    assert rig.api.sent[gone.userid] == []
    async with rig.db.sessions() as session:
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == gone.userid)
            )
        ).scalar_one()
    assert identity.unreachable_at is not None
    told = [t for t in rig.api.texts(admin.userid) if gone.userid in t]
    assert len(told) == 1 and "可见范围" in told[0], rig.api.texts(admin.userid)
    assert OutboxStatus.sent not in await statuses_of(rig, gone.userid)


async def statuses_of(rig: WecomRig, chat_id: str) -> list[str]:
    async with rig.db.sessions() as session:
        query = select(OutboxMessage.status).where(OutboxMessage.chat_id == chat_id)
        return [str(s) for s in await session.scalars(query)]


async def test_robots_post_within_20_a_minute(rig: WecomRig) -> None:
    await push(rig, "heshun", [f"群消息 {n}" for n in range(30)], channel="wecom_robot")
    await drain(paced_sender(rig))
    assert await statuses(rig, "wecom_robot") == [OutboxStatus.sent] * 30
    posted = rig.api.robots["robot-key-heshun"]
    assert [p["text"]["content"] for p in posted] == [f"群消息 {n}" for n in range(30)]
    assert rig.api.robot_most_in(ROBOT_KEY, timedelta(minutes=1)) <= 20


async def test_a_card_whose_code_lapsed_is_sent_anew(rig: WecomRig) -> None:
    """Past 72 hours a card cannot be updated: the edit goes as a new message."""
    from bot.messages import Button

    worker = await rig.member()
    card = Outgoing(text="任务\n请处理", buttons=[[Button("处理", "v1:x:1")]])
    sent = await rig.channel.send(worker.userid, card)
    assert sent.ok and sent.message_id and sent.message_id.startswith("rg_")
    rig.clock.advance(hours=73)
    edit = Outgoing(text="已被认领", edit_message_id=sent.message_id)
    assert (await rig.channel.send(worker.userid, edit)).ok
    assert rig.api.cards[sent.message_id].updates == 0
    assert rig.api.texts(worker.userid)[-1] == "已被认领"
