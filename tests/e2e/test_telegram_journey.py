"""The resident journey through a real framework and the fake Bot API, both modes."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models import Person, Request
from tests.e2e.conftest import Rig
from tests.handlers.journey import onboard, report_light


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
    assert len(presses) >= 10
    pressed = {str(c.params["message_id"]) for c in rig.api.calls_of("editMessageReplyMarkup")}
    assert pressed
    for message in user.messages[:-3]:
        if str(message["message_id"]) in pressed:
            assert "reply_markup" not in message


async def test_deep_link_location_contact_and_language(rig: Rig) -> None:
    user = rig.user(language_code="en")
    sent = await user.send("/start")
    assert sent, "no reply to /start"
    keyboards = [rig.api.markups.get((user.chat_id, m["message_id"])) for m in sent]
    assert any(k and k.get("keyboard", [[{}]])[0][0].get("request_location") for k in keyboards)
    async with rig.db.sessions() as session:
        person = (
            (await session.execute(select(Person).order_by(Person.id.desc()))).scalars().first()
        )
        assert person is not None and person.language == "en"
