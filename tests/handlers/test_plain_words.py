"""Residents read plain words and the same dates as staff: 受理 rather than 签收, and
"11月24日 11:30" on both sides."""

from __future__ import annotations

from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, staff_chat


async def test_the_resident_and_the_staff_read_the_same_deadline(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    await report_light(resident)
    submitted = next(t for t in resident.texts if "诉求编号" in t)
    # Reported at 09:30 in Jimo; taken up within 2 hours.
    assert "预计受理：11月24日 11:30 前" in submitted and "签收" not in submitted
    await pump(bot)
    card = next(m.text for m in staff.messages if "签收期限" in m.text)
    assert "签收期限：11月24日 11:30" in card
    await staff.press("签收")
    await pump(bot)
    assert "已受理，网格正在安排办理" in resident.last_text
    assert "签收" not in resident.last_text
