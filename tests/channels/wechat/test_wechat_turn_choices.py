"""Numbered choices when one turn sends several messages with choices (a meeting and its open
ballot): the numbers run on from one message to the next, so the number a resident reads is
the number that works, whichever message it is on."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from bot.channels.wechat import render
from bot.messages import Outgoing
from bot.services.meetings import actions as meeting_actions
from models import (
    Building,
    Meeting,
    MeetingInvitation,
    OrgUnit,
    OutboxMessage,
    Poll,
    PollOption,
    PollStatus,
    Rsvp,
    ScopeKind,
)
from tests.channels.wechat.conftest import WechatRig
from tests.channels.wechat.test_wechat_journey import compound_id, register_by_qr
from tests.fakes.wechat_callback import WechatUser

_msg_ids = itertools.count(9_000_000)
OPTIONS = ("各户平摊", "顶层住户承担一半", "申请使用维修资金")


async def _meeting_with_a_ballot(rig: WechatRig) -> int:
    """A roof meeting for building 17 with one open ballot; the meeting's id."""
    compound = await compound_id(rig)
    async with rig.db.sessions() as session, session.begin():
        grid = await session.scalar(select(OrgUnit.id).where(OrgUnit.code == "heshun-1"))
        building = await session.scalar(
            select(Building.id).where(Building.compound_id == compound, Building.number == "17")
        )
        assert grid is not None and building is not None
        meeting = Meeting(
            topic="屋顶漏水维修",
            unit_id=grid,
            scope_kind=ScopeKind.building,
            compound_id=compound,
            building_id=building,
            place="楼门口",
            starts_at=rig.clock.now.replace(day=28),
        )
        session.add(meeting)
        await session.flush()
        poll = Poll(
            meeting_id=meeting.id, question="屋顶维修费用如何分摊？", status=PollStatus.open
        )
        session.add(poll)
        await session.flush()
        session.add_all(
            PollOption(poll_id=poll.id, position=n, text=text) for n, text in enumerate(OPTIONS)
        )
        return meeting.id


async def _open(rig: WechatRig, user: WechatUser, meeting_id: int) -> None:
    """The resident taps the meeting (its invitation's menu item)."""
    await user.push(
        {
            "MsgType": "text",
            "Content": "屋顶漏水维修",
            "bizmsgmenuid": meeting_actions.OPEN.data(meeting_id),
            "MsgId": str(next(_msg_ids)),
        }
    )
    while await rig.sender.pump():
        pass


async def _turn_rows(rig: WechatRig, openid: str, count: int) -> list[Outgoing]:
    async with rig.db.sessions() as session:
        payloads = (
            await session.scalars(
                select(OutboxMessage.payload)
                .where(OutboxMessage.chat_id == openid)
                .order_by(OutboxMessage.id.desc())
                .limit(count)
            )
        ).all()
    return [Outgoing.from_payload(payload) for payload in reversed(payloads)]


async def test_a_turns_choices_are_numbered_on_across_its_messages(rig: WechatRig) -> None:
    user = rig.driver.user("o_turn_choices")
    await register_by_qr(rig, user)
    meeting_id = await _meeting_with_a_ballot(rig)
    seen = len(user.messages)
    await _open(rig, user, meeting_id)

    shown, ballot = user.messages[seen:]
    # The meeting (the passive reply): its three choices numbered 1 to 3.
    assert shown["msgtype"] == "text" and "屋顶漏水维修" in shown["text"]["content"]
    assert "1. ✅ 参加" in shown["text"]["content"] and "3. 💬 发表意见" in shown["text"]["content"]
    # The ballot goes as a menu message (tapped, not typed); shown as numbered text, its
    # choices go on from 4, the numbers that press them.
    assert ballot["msgtype"] == "msgmenu"
    meeting_reply, ballot_reply = await _turn_rows(rig, user.openid, 2)
    assert meeting_reply.first_choice == 1 and ballot_reply.first_choice == 4
    numbered = render.text_of(ballot_reply)
    assert "4. 各户平摊" in numbered and "6. 申请使用维修资金" in numbered
    assert "1. " not in numbered

    await user.send("5")  # the ballot's second option, as numbered above
    assert any("已记下您家的选择：顶层住户承担一半" in text for text in user.texts), user.texts

    await _open(rig, user, meeting_id)
    await user.send("1")  # the meeting's first choice, as the passive reply numbered it
    async with rig.db.sessions() as session:
        response = await session.scalar(
            select(MeetingInvitation.response).where(MeetingInvitation.meeting_id == meeting_id)
        )
    assert response == Rsvp.coming, user.texts
