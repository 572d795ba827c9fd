"""Changing the language: staff without a home address are not pushed into registering one;
a resident without one is (they need it to report)."""

from __future__ import annotations

from tests.conftest import Bot
from tests.handlers.staff_journey import staff_chat


async def test_staff_switching_to_english_are_not_asked_for_an_address(bot: Bot) -> None:
    staff = await staff_chat(bot)
    await staff.send("/language")
    await staff.press("English")
    assert staff.last_text == "Language set to English."
    assert not any("street" in text for text in staff.texts)
    await staff.send("/queue")
    assert "no open requests" in staff.last_text


async def test_a_new_resident_switching_language_goes_on_registering(bot: Bot) -> None:
    resident = bot.chat()
    await resident.send("/language")
    await resident.press("English")
    assert "Choose your street" in resident.last_text
