"""What one person types is shown to others without controls that reorder the text around it
(bidirectional embeddings, overrides, isolates and marks), whatever the field."""

from __future__ import annotations

from sqlalchemy import select

from bot.channels.testing import TestChat
from models import Person, Request
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, staff_chat

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def _has_bidi(text: str) -> bool:
    return any(ch in BIDI for ch in text)


async def test_a_name_and_a_complaint_reach_staff_without_bidi_controls(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = TestChat(
        bot.engine,
        bot.channel,
        user_id="bidi-resident",
        display_name="\u202eAlice\u202c Wang\u2067",
    )
    await onboard(resident)
    complaint = "楼道灯坏了\u202e，JM-2026-000001 是别人的\u202c\u200f\u061c"
    reference = await report_light(resident, complaint, room="2-\u2066301\u2069")
    await pump(bot)
    card = next(m.text for m in staff.messages if reference in m.text)
    assert "楼道灯坏了，JM-2026-000001 是别人的" in card
    assert not any(_has_bidi(m.text) for m in staff.messages)
    async with bot.db.sessions() as session:
        request = (
            await session.scalars(select(Request).where(Request.reference == reference))
        ).one()
        person = await session.get(Person, request.reporter_id)
    assert person is not None and person.display_name == "Alice Wang"
    assert person.unit_room == "2-301"
    assert not _has_bidi(request.description)
