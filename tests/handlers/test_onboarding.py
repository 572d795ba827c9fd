"""Onboarding conversations: drill-down, search, location, deep link, phone, language."""

from __future__ import annotations

from sqlalchemy import select

from models import Building, ChannelIdentity, Compound, Person
from tests.conftest import Bot
from tests.handlers.journey import BUILDING, COMMUNITY, COMPOUND, STREET, onboard


async def _person(bot: Bot, user_id: str) -> Person:
    async with bot.db.sessions() as session:
        identity = (
            await session.execute(
                select(ChannelIdentity).where(ChannelIdentity.external_id == user_id)
            )
        ).scalar_one()
        person = await session.get(Person, identity.person_id)
        assert person is not None
        return person


async def test_drill_down_registers_the_address_in_chinese(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    assert "欢迎" in chat.texts[0]
    assert STREET["zh"] in chat.buttons
    await chat.press(STREET["zh"])
    await chat.press(COMMUNITY["zh"])
    await chat.press(COMPOUND["zh"])
    assert BUILDING["zh"] in chat.buttons
    await chat.press(BUILDING["zh"])
    assert "手机号" in chat.last_text
    await chat.share_contact("+86 138 0000 1234")
    assert any("登记完成" in t and "17号楼" in t for t in chat.texts)
    # The room is asked by the first report that needs it (inside the resident's own flat).
    await chat.send("水管爆了，水一直在流")
    await chat.press("✅ 提交（自家屋内）")
    assert "门牌" in chat.last_text
    await chat.send("2-301")
    assert any("诉求编号" in t for t in chat.texts)
    await chat.send("/start")
    await chat.press(STREET["zh"])
    await chat.press(COMMUNITY["zh"])
    await chat.press(COMPOUND["zh"])
    await chat.press(BUILDING["zh"])
    await chat.press("跳过")
    assert any("登记完成" in t and "17号楼" in t and "2-301" in t for t in chat.texts)
    person = await _person(bot, chat.user_id)
    assert person.phone == "+8613800001234" and person.phone_consent_at is not None
    async with bot.db.sessions() as session:
        building = await session.get(Building, person.building_id)
        assert building is not None and building.number == "17"


async def test_english_client_gets_english(bot: Bot) -> None:
    chat = bot.chat(language_code="en")
    await onboard(chat, "en")
    assert any("All set" in t for t in chat.texts)
    assert "📝 New request" in chat.buttons


async def test_no_client_language_starts_in_chinese_and_offers_english(bot: Bot) -> None:
    chat = bot.chat(language_code=None)
    await chat.send("/start")
    assert len(chat.texts) == 1 and "欢迎" in chat.texts[0] and "街道" in chat.texts[0]
    assert STREET["zh"] in chat.buttons and "English" in chat.buttons
    assert "中文" not in chat.buttons
    assert (await _person(bot, chat.user_id)).language == "zh"
    await chat.press("English")
    assert "Language set to English." in chat.texts
    assert STREET["en"] in chat.buttons
    assert "English" not in chat.buttons  # offered once, in the first message
    assert (await _person(bot, chat.user_id)).language == "en"


async def test_a_client_language_is_not_questioned(bot: Bot) -> None:
    for code in ("zh", "en"):
        chat = bot.chat(language_code=code)
        await chat.send("/start")
        assert "English" not in chat.buttons and "中文" not in chat.buttons, code


async def test_typing_part_of_a_compound_name_finds_it(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    await chat.send("新阳光")  # one match: taken at once, its buildings offered
    assert COMPOUND["zh"] in chat.last_text and BUILDING["zh"] in chat.buttons
    await chat.press("不是这个小区")
    await chat.send("新")  # several matches: a list
    assert COMPOUND["zh"] in chat.buttons
    await chat.send("不存在的小区xyz")
    assert "没有找到" in chat.last_text


async def test_shared_location_finds_the_nearest_compound(bot: Bot) -> None:
    async with bot.db.sessions() as session:
        compound = (
            await session.execute(select(Compound).where(Compound.name_zh == COMPOUND["zh"]))
        ).scalar_one()
    assert compound.lat is not None and compound.lon is not None
    chat = bot.chat()
    await chat.send("/start")
    await chat.share_location(compound.lat + 0.0002, compound.lon)
    assert any(COMPOUND["zh"] in t for t in chat.texts)
    assert BUILDING["zh"] in chat.buttons


async def test_impossible_locations_are_refused_politely(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    await chat.share_location(float("nan"), 120.0)
    assert "位置无效" in chat.last_text
    await chat.share_location(95.0, 120.0)
    assert "位置无效" in chat.last_text
    await chat.share_location(-89.9, 0.0)
    assert "没有找到" in chat.last_text


async def test_deep_link_preselects_the_compound(bot: Bot) -> None:
    async with bot.db.sessions() as session:
        compound = (
            await session.execute(select(Compound).where(Compound.name_zh == COMPOUND["zh"]))
        ).scalar_one()
    chat = bot.chat()
    await chat.send(f"/start c_{compound.id}")
    assert BUILDING["zh"] in chat.buttons


async def test_deep_links_naming_no_row_are_answered_politely(bot: Bot) -> None:
    """Ids past what an id column holds (PostgreSQL refused to compare them), unknown ids and
    junk: a compound link starts onboarding as if it had no payload; a meeting link says the
    meeting is not found."""
    for payload in ("c_99999999999999", "c_2147483648", "c_0", "c_-1"):
        chat = bot.chat(language_code="zh")
        await chat.send(f"/start {payload}")
        assert chat.texts and "抱歉" not in chat.last_text and chat.buttons, payload
    for payload in ("m_99999999999", "m_2147483648", "m_"):
        chat = bot.chat(language_code="zh")
        await chat.send(f"/start {payload}")
        assert "没有找到这次议事" in chat.last_text, payload


async def test_someone_elses_contact_is_refused(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    await chat.press(STREET["zh"])
    await chat.press(COMMUNITY["zh"])
    await chat.press(COMPOUND["zh"])
    await chat.press(BUILDING["zh"])
    await chat.share_contact("13900000000", user_id="someone-else")
    assert "本人" in chat.last_text
    assert (await _person(bot, chat.user_id)).phone is None


async def test_rerunning_start_changes_the_address(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await chat.send("/start")
    assert "更新" in chat.texts[0]


async def test_a_typed_mobile_is_taken_and_a_mistyped_one_gets_an_example(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start")
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"]):
        await chat.press(label)
    assert "手机号" in chat.last_text  # no room asked at registration
    for wrong in ("139 1234 567", "+86 139-1234-56789", "12345678901"):
        await chat.send(wrong)
        assert "例如 13912345678" in chat.last_text, wrong
        assert (await _person(bot, chat.user_id)).phone is None
    await chat.send("+86 139-1234-5678")
    assert any("登记完成" in t for t in chat.texts)
    person = await _person(bot, chat.user_id)
    assert person.phone == "13912345678" and person.phone_consent_at is not None


async def test_an_old_address_button_never_restarts_the_registration(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    person = await _person(bot, chat.user_id)
    old = next(  # the street chip of the first registration
        b.data
        for m in chat.channel.sent[chat.chat_id]
        for r in m.buttons
        for b in r
        if b.label == STREET["zh"]
    )
    await chat.press_data(old)
    assert "已失效" in chat.last_text
    after = await _person(bot, chat.user_id)
    assert after.building_id == person.building_id and after.unit_room == person.unit_room
