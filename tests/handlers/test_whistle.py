"""The red whistle in conversation: grid staff blow it, the department's liaison answers, and
everyone else pressing the buttons is refused with nothing changed."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.whistles import actions
from models import Role, WhistleSummons
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, snapshot, staff_chat
from tests.handlers.staff_journey import request as load_request


async def _summons(bot: Bot) -> WhistleSummons:
    async with bot.db.sessions() as session:
        found = await session.execute(select(WhistleSummons).order_by(WhistleSummons.id.desc()))
        return found.scalars().first()  # type: ignore[return-value]


async def test_whistle_blown_acknowledged_and_refused(bot: Bot) -> None:
    resident = bot.chat()
    await onboard(resident)
    reference = await report_light(resident)
    staff = await staff_chat(bot)  # grid staff of heshun-1, which owns the request
    liaison = await staff_chat(bot, role=Role.department_liaison, unit="law-enforcement")
    police = await staff_chat(bot, role=Role.department_liaison, unit="police")

    await staff.send("/whistle")
    assert "law-enforcement" in staff.last_text  # usage lists the departments

    await resident.send(f"/whistle {reference} law-enforcement")
    assert "未做任何更改" in resident.last_text
    assert await _summons(bot) is None

    await staff.send(f"/whistle {reference} no-such-dept")
    assert "no-such-dept" in staff.last_text

    await staff.send(f"/whistle {reference} law-enforcement")
    assert "已就诉求" in staff.last_text and reference in staff.last_text
    await pump(bot)
    assert reference in liaison.last_text
    assert liaison.buttons == ["确认响应", "已到场", "已处置"]
    summons = await _summons(bot)
    request = await load_request(bot, reference)
    before = await snapshot(bot, request.id)

    # Someone else pressing the liaison's button: refused, nothing changes.
    for intruder in (police, staff, resident):
        await intruder.press_data(actions.ACKNOWLEDGE.data(summons.id))
        assert "未做任何更改" in intruder.last_text
    assert (await _summons(bot)).acknowledged_at is None
    assert await snapshot(bot, request.id) == before

    await liaison.press("确认响应")
    assert "已确认响应" in liaison.last_text
    assert (await _summons(bot)).status == "acknowledged"
    await liaison.press_data(actions.ACKNOWLEDGE.data(summons.id))
    assert "无需重复" in liaison.last_text
    await pump(bot)
    assert any("已确认响应诉求" in m.text for m in staff.messages)

    await liaison.press_data(actions.DONE.data(summons.id))
    assert (await _summons(bot)).status == "done"
