"""The resident journey through a real framework and the fake Bot API, both modes."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import Compound, Person, Request
from tests.e2e.conftest import Rig
from tests.handlers.journey import BUILDING, COMMUNITY, COMPOUND, STREET, onboard, report_light
from tests.handlers.test_taps import BY_QR_CODE_AT_MOST, MEASURED, WITH_BUTTONS_AT_MOST


async def _count(rig: Rig, model: type) -> int:
    async with rig.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_resident_onboards_reports_and_sees_the_reference(rig: Rig) -> None:
    user = rig.user()
    await onboard(user)  # type: ignore[arg-type]
    assert "新诉求" in " ".join(user.buttons)
    reference = await report_light(user)  # type: ignore[arg-type]
    assert re.fullmatch(r"JM-\d{4}-\d{6}", reference), reference
    await user.send("/my")
    assert any(reference in label for label in user.buttons), user.buttons
    assert await _count(rig, Request) == 1
    # Every press was answered, and the keyboards of pressed messages were taken away.
    presses = [c for c in rig.api.calls_of("answerCallbackQuery")]
    assert len(presses) >= 6  # street, community, compound, building, skip the phone, submit
    pressed = {
        str(c.params["message_id"])
        for c in rig.api.calls_of("editMessageReplyMarkup")
        # (not the edit that attaches a message's buttons after it took the reply keyboard away)
        if not (c.params.get("reply_markup") or {}).get("inline_keyboard")
    }
    assert pressed
    for message in user.messages[:-3]:
        if str(message["message_id"]) in pressed:
            assert "reply_markup" not in message


async def test_deep_link_location_contact_and_language(rig: Rig) -> None:
    user = rig.user(language_code="en")
    sent = await user.send("/start")
    assert sent, "no reply to /start"
    sent = await user.press("📍 Share my location")  # one message holds one keyboard
    keyboards = [rig.api.markups.get((user.chat_id, m["message_id"])) for m in sent]
    assert any(k and k.get("keyboard", [[{}]])[0][0].get("request_location") for k in keyboards)
    async with rig.db.sessions() as session:
        person = (
            (await session.execute(select(Person).order_by(Person.id.desc()))).scalars().first()
        )
        assert person is not None and person.language == "en"


async def test_to_the_reference_in_at_most_8_actions_or_5_by_the_qr_code(rig: Rig) -> None:
    """The counted journey of tests/handlers/test_taps.py, through the framework: /start is
    one message carrying its keyboard, and the reference comes within the same actions."""
    user = rig.user()
    sent = await user.send("/start")
    assert len(sent) == 1 and "欢迎" in user.texts[0] and STREET["zh"] in user.buttons
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"], "跳过"):
        await user.press(label)
    await user.send("楼道灯坏了好几天了，晚上黑漆漆的")
    await user.press("✅ 提交")
    assert any("诉求编号" in t for t in user.texts), user.texts
    assert user.actions == MEASURED["buttons"] <= WITH_BUTTONS_AT_MOST
    async with rig.db.sessions() as session:
        compound = (
            await session.execute(select(Compound.id).where(Compound.name_zh == COMPOUND["zh"]))
        ).scalar_one()
    neighbour = rig.user()
    sent = await neighbour.send(f"/start c_{compound}")
    assert len(sent) == 1 and BUILDING["zh"] in neighbour.buttons
    await neighbour.press(BUILDING["zh"])
    await neighbour.press("跳过")
    await neighbour.send("单元门坏了，关不上")
    await neighbour.press("✅ 提交")
    assert any("诉求编号" in t for t in neighbour.texts), neighbour.texts
    assert neighbour.actions == MEASURED["qr"] <= BY_QR_CODE_AT_MOST
