"""Volunteers in WeCom: they join by an invite typed in the app, get the task as a card, two
press 认领 at once and exactly one wins; both cards change in place (the winner's becomes the
task, the other's says it was taken)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from models import Role, TaskPush, VolunteerTask
from tests.channels.wecom.conftest import WecomRig
from tests.fakes.wecom_callback import WecomMember
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import request


async def join(rig: WecomRig, admin: WecomMember, userid: str) -> WecomMember:
    """The admin invites (in WeCom); the volunteer sends `/start inv_...` in the app and
    registers as an electrician with the cards' buttons."""
    await admin.send("/invite volunteer wrench-cscec8")
    payload = next(w for t in reversed(admin.all_texts) for w in t.split() if w.startswith("inv_"))
    member = rig.driver.member(userid)
    await member.send(f"/start {payload}")
    assert any("志愿者" in t for t in member.texts), member.texts
    for label in ("电工", "下一步", "每天", "保存"):
        await member.click(label)
    assert "电工" in member.all_texts[-1], member.all_texts[-1]
    return member


async def test_two_volunteers_claim_at_once_one_wins(own_rig: WecomRig) -> None:
    rig = own_rig
    admin = await rig.member(role=Role.admin, unit="heshun")
    sun, li = await join(rig, admin, "wx-vol-sun"), await join(rig, admin, "wx-vol-li")
    worker = await rig.member()  # the grid worker sends the task from WeCom too
    resident = rig.resident()
    await onboard(resident)
    reference = await report_light(resident)
    row = await request(rig, reference)  # type: ignore[arg-type]
    await rig.pump()
    await worker.click("签收", worker.card_with("签收"))
    await worker.click("更多操作")
    await worker.click("其他操作 ▸")  # the card's actions a WeCom card (six buttons) at a time
    await worker.click("派红扳手任务")
    await rig.pump()
    sun_card, li_card = sun.card_with("🔧 认领"), li.card_with("🔧 认领")
    assert reference in sun_card.text and reference in li_card.text

    both = [sun.click_xml("🔧 认领", sun_card), li.click_xml("🔧 认领", li_card)]
    statuses = await asyncio.gather(*(rig.driver.post(xml) for xml in both))
    assert statuses == [200, 200]
    await rig.pump()
    async with rig.db.sessions() as session:
        task = (
            await session.execute(select(VolunteerTask).where(VolunteerTask.request_id == row.id))
        ).scalar_one()
        pushes = len(
            list(await session.scalars(select(TaskPush).where(TaskPush.task_id == task.id)))
        )
    assert task.status == "claimed" and pushes >= 2
    cards = {sun.userid: sun_card, li.userid: li_card}
    by_person = {m.userid: m for m in (sun, li)}
    winner = next(uid for uid in cards if any("认领成功" in t for t in by_person[uid].all_texts))
    loser = next(uid for uid in cards if uid != winner)
    assert any("来晚一步" in t for t in by_person[loser].all_texts)
    # Both cards changed in place: the winner's is the task, the other's says it was taken.
    assert "🔧 认领" not in cards[winner].buttons and cards[winner].updates == 1
    assert "认领成功" in cards[winner].text
    assert cards[loser].updates == 1 and "已被其他志愿者认领" in cards[loser].text
    assert cards[loser].buttons == [] and cards[loser].replaced, cards[loser].card
