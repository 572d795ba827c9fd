"""The resident journey through WeChat, in plain and safe mode, on SQLite and PostgreSQL:
registering by scanning the compound's QR code, reporting with a photo and a voice note,
following, adding information and rating, with the outcomes of the test channel."""

from __future__ import annotations

import re

from sqlalchemy import select

from models import (
    ChannelIdentity,
    Compound,
    Evaluation,
    OutboxMessage,
    Person,
    Request,
    RequestEvent,
    RequestPhoto,
    RequestStatus,
)
from tests.channels.wechat.conftest import WechatRig
from tests.fakes.wechat_api import AMR, JPEG
from tests.fakes.wechat_callback import WechatUser
from tests.handlers.test_follow_and_judge import _staff_does


async def compound_id(rig: WechatRig, name: str = "海盛·新阳光地带") -> int:
    async with rig.db.sessions() as session:
        return int(await session.scalar(select(Compound.id).where(Compound.name_zh == name)))


async def register_by_qr(rig: WechatRig, user: WechatUser) -> None:
    """Follow through the compound's QR code, then building, no phone."""
    delivery = await user.subscribe(str(await compound_id(rig)))
    assert delivery.ok and delivery.passive, delivery
    if "中文" in user.buttons:
        await user.press("中文")
    await user.press("17号楼")
    await user.press("跳过")


async def finish_report(user: WechatUser) -> str:
    """Submit the draft (as tests/handlers/journey.report_light); the reference."""
    await user.press("✅ 提交")
    submitted = next(t for t in user.texts if "诉求编号" in t)
    return submitted.split("诉求编号 ")[1].split("。")[0]


async def request_of(rig: WechatRig, reference: str) -> Request:
    async with rig.db.sessions() as session:
        return (
            await session.execute(select(Request).where(Request.reference == reference))
        ).scalar_one()


async def report_with_media(rig: WechatRig, user: WechatUser) -> Request:
    """A report with a photo and a voice note: both kept (downloaded within their 3 days),
    the voice note's recognised words part of the description."""
    rig.api.add_media("m_photo", JPEG, "image/jpeg")
    rig.api.add_media("m_voice", AMR, "audio/amr")
    await user.send("楼道灯坏了好几天了，晚上黑漆漆的")
    await user.send_image("m_photo")
    await user.send_voice("m_voice", recognition="三楼也不亮")
    reference = await finish_report(user)
    assert re.fullmatch(r"JM-\d{4}-\d{6}", reference), reference
    request = await request_of(rig, reference)
    async with rig.db.sessions() as session:
        query = select(RequestPhoto.file_id).where(RequestPhoto.request_id == request.id)
        stored = set(await session.scalars(query))
    assert {name.rsplit(".", 1)[1] for name in stored} == {"jpg", "amr"}, stored
    assert "三楼也不亮" in request.description
    for name in stored:
        assert (rig.settings.webchat.upload_dir / name).is_file(), name
    return request


async def follow_and_add(rig: WechatRig, user: WechatUser, request: Request) -> None:
    await user.send("/my")
    label = next(b for b in user.buttons if request.reference in b)
    await user.press(label)
    assert request.reference in " ".join(user.texts)
    await user.press("补充信息")
    await user.send("三楼和四楼的灯都不亮")
    await user.press("✅ 完成")
    assert any("已补充" in t for t in user.texts), user.texts
    async with rig.db.sessions() as session:
        query = select(RequestEvent.note).where(RequestEvent.request_id == request.id)
        notes = list(await session.scalars(query))
    assert any("三楼和四楼" in note for note in notes)


async def rate(rig: WechatRig, user: WechatUser, reference: str) -> None:
    """Staff resolve the request; the resident is asked (a push), answers and rates."""
    await _staff_does(rig, reference, "accept", "start", "resolve")  # type: ignore[arg-type]
    while await rig.sender.pump():
        pass
    assert "请评价" in user.last_text, user.all_texts[-3:]
    await user.press("评价")
    assert "解决了吗" in user.last_text, user.texts
    await user.press("已解决")
    await user.press("满意")
    await user.send("师傅很负责")
    assert any("感谢" in t for t in user.texts), user.texts
    request = await request_of(rig, reference)
    assert request.status == RequestStatus.closed
    async with rig.db.sessions() as session:
        query = select(Evaluation).where(Evaluation.request_id == request.id)
        evaluation = (await session.execute(query)).scalar_one()
    assert (evaluation.solved, evaluation.satisfaction) == ("solved", "satisfied")


async def test_resident_journey(rig: WechatRig) -> None:
    user = rig.driver.user(f"o_journey_{rig.settings.wechat.encrypt_mode}")
    await register_by_qr(rig, user)
    async with rig.db.sessions() as session:
        query = (
            select(Person.building_id)
            .join(ChannelIdentity, ChannelIdentity.person_id == Person.id)
            .where(ChannelIdentity.channel == "wechat", ChannelIdentity.external_id == user.openid)
        )
        assert await session.scalar(query) is not None, user.all_texts
    request = await report_with_media(rig, user)
    await follow_and_add(rig, user, request)
    await rate(rig, user, request.reference)
    # Every reply went back in the callbacks' answers or by the API: none is left behind.
    async with rig.db.sessions() as session:
        query = select(OutboxMessage.status, OutboxMessage.last_error).where(
            OutboxMessage.channel == "wechat", OutboxMessage.status != "sent"
        )
        left = (await session.execute(query)).all()
    assert left == [], left
    assert any(m.get("passive") for m in user.messages)
