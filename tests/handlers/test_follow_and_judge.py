"""Following a request, adding to it, withdrawing it, and judging the result."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.cases import actions as cases_actions
from bot.services.cases import workflow
from models import Evaluation, Person, Request, RequestEvent, RequestStatus, Role, RoleGrant
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light


async def _request(bot: Bot, reference: str) -> Request:
    async with bot.db.sessions() as session:
        stmt = select(Request).where(Request.reference == reference)
        return (await session.execute(stmt)).scalar_one()


async def _staff_does(bot: Bot, reference: str, *actions: str) -> None:
    """A grid staff member of the request's owner unit performs actions in order."""
    async with bot.db.sessions() as session, session.begin():
        request = (
            await session.execute(select(Request).where(Request.reference == reference))
        ).scalar_one()
        staff = Person(display_name="网格员")
        session.add(staff)
        await session.flush()
        session.add(
            RoleGrant(person_id=staff.id, role=Role.grid_staff, unit_id=request.owner_unit_id)
        )
        await session.flush()
        settings = bot.engine.settings
        for action in actions:
            note = "已更换灯泡" if action == "resolve" else ""
            await workflow.transition(
                session,
                request=request,
                action=action,
                actor=staff,
                now=bot.clock(),
                note=note,
                settings=settings,
            )


async def test_my_requests_shows_the_public_timeline(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    reference = await report_light(chat)
    await chat.press("📋 我的诉求")
    label = next(b for b in chat.buttons if reference in b)
    await chat.press(label)
    assert reference in chat.last_text and "待受理" in chat.last_text
    assert chat.buttons[:2] == ["补充信息", "撤回"]


async def test_adding_information_reaches_the_request(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    reference = await report_light(chat)
    request = await _request(bot, reference)
    await chat.press_data(cases_actions.ADD_INFO.data(request.id))
    await chat.send("三楼和四楼的灯都不亮")
    await chat.send_photo("photo-2")
    await chat.press("✅ 完成")
    assert any("已补充" in t for t in chat.texts)
    async with bot.db.sessions() as session:
        events = (
            (
                await session.execute(
                    select(RequestEvent).where(RequestEvent.request_id == request.id)
                )
            )
            .scalars()
            .all()
        )
    assert any("三楼和四楼" in e.note for e in events)


async def test_withdraw_with_reason(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    reference = await report_light(chat)
    request = await _request(bot, reference)
    await chat.press_data(cases_actions.WITHDRAW.data(request.id))
    await chat.send("灯自己好了")
    assert any("已撤回" in t for t in chat.texts)
    assert (await _request(bot, reference)).status == RequestStatus.withdrawn
    # A withdrawn request takes no more additions.
    await chat.press_data(cases_actions.ADD_INFO.data(request.id))
    assert "已经结束" in chat.last_text


async def test_another_residents_request_is_refused(bot: Bot) -> None:
    owner = bot.chat()
    await onboard(owner)
    reference = await report_light(owner)
    request = await _request(bot, reference)
    intruder = bot.chat()
    await onboard(intruder)
    for data in (
        cases_actions.MY_REQUEST.data(request.id),
        cases_actions.ADD_INFO.data(request.id),
        cases_actions.WITHDRAW.data(request.id),
        cases_actions.RATE.data(request.id),
        cases_actions.RATE_SOLVED.data(request.id, 0),
        cases_actions.RATE_SATISFIED.data(request.id, 0, 0),
    ):
        await intruder.press_data(data)
        assert "不属于您" in intruder.last_text, data
    assert (await _request(bot, reference)).status == RequestStatus.submitted


async def test_resolved_request_is_judged_and_closed(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    reference = await report_light(chat)
    await _staff_does(bot, reference, "accept", "start", "resolve")
    request = await _request(bot, reference)
    await chat.press_data(cases_actions.RATE.data(request.id))
    assert "解决了吗" in chat.last_text
    await chat.press("已解决")
    await chat.press("满意")
    await chat.send("师傅很负责")
    assert any("感谢" in t for t in chat.texts)
    request = await _request(bot, reference)
    assert request.status == RequestStatus.closed
    async with bot.db.sessions() as session:
        evaluation = (
            await session.execute(select(Evaluation).where(Evaluation.request_id == request.id))
        ).scalar_one()
    assert (evaluation.solved, evaluation.satisfaction, evaluation.comment) == (
        "solved",
        "satisfied",
        "师傅很负责",
    )
    await chat.press_data(cases_actions.RATE.data(request.id))
    assert "不需要评价" in chat.last_text


async def test_not_solved_reopens(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    reference = await report_light(chat)
    await _staff_does(bot, reference, "accept", "start", "resolve")
    request = await _request(bot, reference)
    await chat.press_data(cases_actions.RATE.data(request.id))
    await chat.press("未解决")
    await chat.press("不满意")
    await chat.press("跳过")
    assert any("重新" in t for t in chat.texts)
    assert (await _request(bot, reference)).status == RequestStatus.reopened
