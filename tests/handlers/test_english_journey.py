"""The resident's whole journey in English: register, report, follow, add, judge, reopen."""

from __future__ import annotations

import re

from bot.services.cases import actions as cases_actions
from tests.conftest import Bot
from tests.handlers.journey import onboard
from tests.handlers.test_follow_and_judge import _request, _staff_does


async def _report(chat_text: str, bot: Bot, user: str) -> tuple[object, str]:
    chat = bot.chat(user, language_code="en")
    await onboard(chat, "en")
    await chat.send(chat_text)
    assert "Lighting" in chat.last_text, chat.last_text
    assert "This is what we will submit" in chat.last_text
    submit = "✅ Submit" if "✅ Submit" in chat.buttons else "✅ Submit (stairwell / common area)"
    await chat.press(submit)
    submitted = next(t for t in chat.texts if "request number" in t)
    reference = re.search(r"JM-\d{4}-\d{6}", submitted)
    assert reference, submitted
    return chat, reference.group()


async def test_english_resident_journey(bot: Bot) -> None:
    chat, reference = await _report("The stairwell light is broken on the 3rd floor", bot, "en-1")
    await chat.press("📋 My requests")
    await chat.press(next(b for b in chat.buttons if reference in b))
    assert "Received" in chat.last_text and chat.buttons[:2] == ["Add information", "Withdraw"]
    await chat.press("Add information")
    await chat.send("It flickers before going dark")
    await chat.press("✅ Done")
    assert any("Added to" in t for t in chat.texts)
    await _staff_does(bot, reference, "accept", "start", "resolve")
    request = await _request(bot, reference)
    await chat.press_data(cases_actions.RATE.data(request.id))
    assert "Is the problem solved?" in chat.last_text
    await chat.press("Not solved")
    await chat.press("Not satisfied")
    await chat.send("Still dark at night")
    assert any("reopened" in t for t in chat.texts)


async def test_english_refusals(bot: Bot) -> None:
    owner, reference = await _report("street lamp not working at the gate", bot, "en-2")
    request = await _request(bot, reference)
    intruder = bot.chat("en-3", language_code="en")
    await onboard(intruder, "en")
    await intruder.press_data(cases_actions.MY_REQUEST.data(request.id))
    assert "not yours" in intruder.last_text
    await intruder.press_data("v1:rsubmit")
    assert "no longer valid" in intruder.last_text
    await intruder.send("/nonsense")
    assert "/help" in intruder.last_text
    await intruder.send("x" * 4097)
    assert "too long" in intruder.last_text
    await owner.press("📝 New request")
    await owner.send("/cancel")
    assert owner.texts[0] == "Cancelled. Back to the main menu."
    await owner.press_data(cases_actions.WITHDRAW.data(request.id))
    await owner.send("fixed itself")
    assert any("has been withdrawn" in t for t in owner.texts)
