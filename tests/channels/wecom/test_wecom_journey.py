"""The staff journey through WeCom, on SQLite and PostgreSQL: a resident reports through the
test channel, the grid worker gets the card in WeCom, accepts with the card's button (the card
changes in place), asks the resident, and resolves with a photo taken in WeCom."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.cases import actions as cases_actions
from models import OutboxMessage, RequestPhoto, RequestStatus
from tests.channels.wecom.conftest import WecomRig
from tests.fakes.wecom_api import JPEG
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import request


async def test_grid_worker_works_a_request_in_wecom(own_rig: WecomRig) -> None:
    rig = own_rig
    worker, colleague = await rig.member(), await rig.member()
    resident = rig.resident()
    await onboard(resident)
    reference = await report_light(resident)
    await rig.pump()
    card = worker.card_with("签收")
    assert reference in card.title, card.text

    await worker.click("签收", card)
    assert (await request(rig, reference)).status == RequestStatus.accepted  # type: ignore[arg-type]
    assert card.updates == 1 and "签收" not in card.buttons, card.buttons  # changed in place
    assert "开始办理" in card.buttons, card.buttons
    await rig.pump()  # the colleague's card says who has it, in place
    theirs = colleague.cards[0]
    assert theirs.updates == 1 and "已由" in theirs.replaced and "签收" in theirs.replaced
    assert theirs.buttons == []

    await worker.click("开始办理", card)
    await worker.click("请居民补充", card)
    await worker.send("请问是几单元几楼的灯？")
    row = await request(rig, reference)  # type: ignore[arg-type]
    assert row.status == RequestStatus.waiting_for_resident
    await rig.pump()
    assert "几单元几楼" in resident.last_text
    await resident.press_data(cases_actions.ADD_INFO.data(row.id))
    await resident.send("二单元三楼")
    await resident.press("✅ 完成")
    assert (await request(rig, reference)).status == RequestStatus.in_progress  # type: ignore[arg-type]
    await rig.pump()

    rig.api.add_media("m_after", JPEG, "image/jpeg")
    await worker.click("办结", worker.card_with("办结"))
    await worker.send("已更换三楼灯泡")
    await worker.send_image("m_after")
    await worker.click("✅ 完成")
    row = await request(rig, reference)  # type: ignore[arg-type]
    assert row.status == RequestStatus.resolved, worker.all_texts[-3:]
    async with rig.db.sessions() as session:
        stored = list(
            await session.scalars(
                select(RequestPhoto.file_id).where(RequestPhoto.request_id == row.id)
            )
        )
    assert len(stored) == 1 and (rig.settings.webchat.upload_dir / stored[0]).is_file()
    await rig.pump()
    assert "已更换三楼灯泡" in resident.last_text
    assert resident.buttons == ["评价"]
    async with rig.db.sessions() as session:
        left = (
            await session.execute(
                select(OutboxMessage.status, OutboxMessage.last_error).where(
                    OutboxMessage.channel == "wecom", OutboxMessage.status != "sent"
                )
            )
        ).all()
    assert left == [], left
