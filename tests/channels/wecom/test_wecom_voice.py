"""A voice message from a member: WeCom gives no words for it, so after the turn's own answer
the member is asked, politely and in their language, to type a few words; the audio is kept
as the WeChat channel keeps one (an AMR file in the upload folder)."""

from __future__ import annotations

from sqlalchemy import select, update

from models import ChannelIdentity, Person
from tests.channels.wecom.conftest import WecomRig
from tests.fakes.wechat_api import AMR


async def set_language(rig: WecomRig, userid: str, language: str) -> None:
    async with rig.db.sessions() as session, session.begin():
        person_id = await session.scalar(
            select(ChannelIdentity.person_id).where(ChannelIdentity.chat_id == userid)
        )
        await session.execute(
            update(Person).where(Person.id == person_id).values(language=language)
        )


async def test_a_voice_message_is_kept_and_the_member_asked_to_type_in_chinese(
    rig: WecomRig,
) -> None:
    member = await rig.member()
    rig.api.add_media("m_voice", AMR, "audio/amr")
    assert await member.send_voice("m_voice") == 200
    texts = member.texts
    assert len(texts) >= 2, texts  # the turn's own answer first
    assert "请再用文字简单说几句" in texts[-1], texts
    assert not any("看不懂" in t for t in texts), texts  # not "unsupported"
    stored = list(rig.settings.webchat.upload_dir.glob("*.amr"))
    assert len(stored) == 1 and stored[0].read_bytes() == AMR


async def test_a_voice_message_is_answered_in_english(rig: WecomRig) -> None:
    member = await rig.member()
    await set_language(rig, member.userid, "en")
    rig.api.add_media("m_voice_en", AMR, "audio/amr")
    assert await member.send_voice("m_voice_en") == 200
    assert "please type a few words" in member.texts[-1], member.texts
    assert not any("请再用文字" in t for t in member.texts), member.texts


async def test_a_voice_message_whose_audio_is_gone_still_gets_the_question(
    rig: WecomRig,
) -> None:
    member = await rig.member()
    assert await member.send_voice("m_expired") == 200  # WeCom no longer has it (40007)
    assert "请再用文字简单说几句" in member.texts[-1], member.texts
    assert list(rig.settings.webchat.upload_dir.glob("*.amr")) == []


async def test_a_retried_voice_message_is_asked_about_once(rig: WecomRig) -> None:
    member = await rig.member()
    rig.api.add_media("m_twice", AMR, "audio/amr")
    xml = rig.driver.xml(
        member.userid,
        {"MsgType": "voice", "MediaId": "m_twice", "Format": "amr", "MsgId": "7001"},
    )
    assert await rig.driver.post(xml) == 200
    assert await rig.driver.post(xml) == 200  # WeCom again: the same MsgId
    asked = [t for t in member.all_texts if "请再用文字简单说几句" in t]
    assert len(asked) == 1, member.all_texts
