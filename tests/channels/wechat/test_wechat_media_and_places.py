"""Places and media: a location message or a LOCATION event feeds the location routing; a
photo whose download fails is answered, not lost."""

from __future__ import annotations

from sqlalchemy import select

from models import Compound, Conversation
from tests.channels.wechat.conftest import WechatRig

COMPOUND = "海盛·新阳光地带"


async def _compound(rig: WechatRig) -> Compound:
    async with rig.db.sessions() as session:
        query = select(Compound).where(Compound.name_zh == COMPOUND)
        return (await session.execute(query)).scalar_one()


async def test_a_shared_location_finds_the_nearest_compound(rig: WechatRig) -> None:
    compound = await _compound(rig)
    assert compound.lat is not None and compound.lon is not None
    user = rig.driver.user("o_place_1")
    await user.send("/start")
    await user.share_location(compound.lat + 0.0002, compound.lon)
    assert any(COMPOUND in text for text in user.texts), user.texts
    assert "17号楼" in user.buttons


async def test_a_location_event_feeds_the_same_routing(rig: WechatRig) -> None:
    compound = await _compound(rig)
    assert compound.lat is not None and compound.lon is not None
    user = rig.driver.user("o_place_2")
    await user.send("/start")
    fields = {
        "MsgType": "event",
        "Event": "LOCATION",
        "Latitude": str(compound.lat + 0.0002),
        "Longitude": str(compound.lon),
        "Precision": "30.0",
    }
    await user.push(fields, event=True)
    assert any(COMPOUND in text for text in user.texts), user.texts


async def test_a_photo_that_cannot_be_fetched_is_answered(rig: WechatRig) -> None:
    user = rig.driver.user("o_media_1")
    await user.subscribe()
    delivery = await user.send_image("gone-after-3-days")
    assert delivery.ok
    assert user.texts, "the photo got no answer"


async def test_a_voice_without_recognised_words_is_kept_and_the_resident_asked_to_type(
    rig: WechatRig,
) -> None:
    from tests.channels.wechat.test_wechat_journey import register_by_qr
    from tests.fakes.wechat_api import AMR

    user = rig.driver.user("o_voice_1")
    await register_by_qr(rig, user)
    rig.api.add_media("m_mute", AMR, "audio/amr")
    rig.api.add_media("m_said", AMR, "audio/amr")
    await user.send_voice("m_mute", recognition="")
    await rig.callback.idle(user.openid)
    texts = user.texts
    assert "哪方面的问题" in texts[0], texts  # the turn's answer first: the voice is kept
    assert "请再用文字简单说一下" in texts[-1], texts
    async with rig.db.sessions() as session:
        query = select(Conversation.data).where(Conversation.chat_id == user.openid)
        draft = (await session.execute(query)).scalar_one()
    assert len(draft["voices"]) == 1  # the audio is in the report's draft
    await user.send_voice("m_said", recognition="楼道灯坏了")
    await rig.callback.idle(user.openid)
    assert not any("请再用文字" in t for t in user.texts), user.texts
    await user.send("/cancel")
    await user.send("/language")
    await user.press("English")
    await user.send_voice("m_mute", recognition="  ")
    await rig.callback.idle(user.openid)
    assert "please type a few words" in user.texts[-1], user.texts
