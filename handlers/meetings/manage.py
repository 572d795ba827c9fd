"""Running a meeting, for its organiser (and staff over its unit): households and answers,
the printable notice, minutes and the outcome.

```mermaid
stateDiagram-v2
    [*] --> cancel: 取消议事 (mtcx)
    cancel --> [*]: reason typed, or 不说明原因 (mtcxy): called off, invitees told
    [*] --> minutes: 会议纪要 (mtmin)
    minutes --> [*]: text typed (kept)
    [*] --> decision: 记录结果 (mtout)
    decision --> actions: decision typed
    actions --> [*]: who does what by when typed, or 无 (outcome posted)
```
Polls are run from handlers/meeting_polls.py. Every state answers /cancel.
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.messages import Button
from bot.services.meetings import actions, attendance, audience, ballots, cards, convene
from bot.services.meetings import notice as qr
from bot.services.meetings import outcome as meeting_outcome
from bot.services.meetings import views as meeting_views
from bot.services.org import places
from handlers.cases.render import when
from handlers.common import cancel_row, stale_button
from models import Building, Meeting, MeetingKind, MeetingStatus, Poll, PollStatus

router = Router()

S_MINUTES = "mt.minutes"
S_DECISION = "mt.decision"
S_ACTIONS = "mt.actions"
S_CANCEL = "mt.cancel"
TEXT_LIMIT = 2000


async def _meeting(ctx: Context, data: ButtonData | None = None) -> Meeting:
    meeting_id = data.int_arg() if data is not None else ctx.data.get("meeting_id")
    return await convene.get_managed(
        ctx.session, meeting_id=int(meeting_id or 0), person=ctx.person
    )


def _poll_row(ctx: Context, poll: Poll) -> list[Button]:
    """A poll's buttons: open a draft; status and close an open one; the result of a closed one."""
    if poll.status == PollStatus.draft:
        return [actions.OPEN_POLL.button(ctx.t("meeting.button.open_poll", id=poll.id), poll.id)]
    if poll.status == PollStatus.open:
        return [
            actions.POLL_STATUS.button(ctx.t("meeting.button.poll_status", id=poll.id), poll.id),
            actions.CLOSE_POLL.button(ctx.t("meeting.button.close_poll", id=poll.id), poll.id),
        ]
    return [actions.POLL_STATUS.button(ctx.t("meeting.button.poll_result", id=poll.id), poll.id)]


def _meeting_rows(ctx: Context, meeting: Meeting) -> list[list[Button]]:
    """The organiser's actions on the meeting itself, as far as its status allows."""
    rows: list[list[Button]] = []
    if meeting.status == MeetingStatus.scheduled:
        rows.append(
            [
                actions.NEW_POLL.button(ctx.t("meeting.button.new_poll"), meeting.id),
                actions.HOUSEHOLDS.button(ctx.t("meeting.button.households"), meeting.id),
            ]
        )
        rows.append(
            [
                actions.MINUTES.button(ctx.t("meeting.button.minutes"), meeting.id),
                actions.OUTCOME.button(ctx.t("meeting.button.outcome"), meeting.id),
            ]
        )
        rows.append([actions.CALL_OFF.button(ctx.t("meeting.button.call_off"), meeting.id)])
    if meeting.kind == MeetingKind.meeting and meeting.status != MeetingStatus.cancelled:
        rows.append([actions.NOTICE.button(ctx.t("meeting.button.notice"), meeting.id)])
    return rows


async def show_manage(ctx: Context, meeting: Meeting) -> None:
    """The organiser's view: what, where, when, answers so far, polls, and the actions."""
    report = await meeting_views.attendance(ctx.session, meeting=meeting)
    lines = [
        cards.describe(meeting, ctx.locale, settings=ctx.settings),
        ctx.t(f"meeting.status.{meeting.status.value}"),
        *(
            [ctx.t("meeting.cancel_reason", reason=meeting.cancel_reason)]
            if meeting.cancel_reason
            else []
        ),
        ctx.t(
            "meeting.answers",
            households=len(report.households),
            coming=report.counts["coming"],
            not_coming=report.counts["not_coming"],
            view=report.counts["view"],
            pending=report.counts["pending"],
            checked_in=report.checked_in_households,
            unregistered=report.unregistered,
        ),
    ]
    rows: list[list[Button]] = []
    for poll in await ballots.list_polls(ctx.session, meeting_id=meeting.id):
        lines.append(
            ctx.t(f"meeting.poll_line.{poll.status.value}", id=poll.id, question=poll.question)
        )
        rows.append(_poll_row(ctx, poll))
    ctx.reply("\n".join(lines), buttons=rows + _meeting_rows(ctx, meeting))


async def send_notice(ctx: Context, meeting: Meeting) -> None:
    """Reply with the printable notice (PNG) carrying the QR deep link to the meeting."""
    link = qr.meeting_link(ctx.settings, meeting_id=meeting.id)
    building = await ctx.session.get(Building, meeting.building_id) if meeting.building_id else None
    lines = [
        ctx.t("meeting.notice.place", place=meeting.place or ctx.t("next_steps.not_set")),
        ctx.t("meeting.notice.when", when=when(ctx, meeting.starts_at)),
    ]
    if building is not None:
        lines.insert(0, ctx.t("meeting.notice.building", number=building.number))
    png = qr.notice_png(
        link=link,
        title=ctx.t("meeting.notice.title", topic=meeting.topic),
        lines=lines,
        caption=ctx.t("meeting.notice.caption"),
        font_path=ctx.settings.meetings.font_path,
    )
    path = qr.write_notice(ctx.settings, meeting_id=meeting.id, png=png)
    ctx.reply(
        ctx.t("meeting.notice_sent", link=link),
        document=str(path),
        document_name=path.name,
    )


@router.button(actions.NOTICE)
async def notice(ctx: Context, data: ButtonData) -> None:
    meeting = await _meeting(ctx, data)
    attendance.refuse_cancelled(meeting)
    await send_notice(ctx, meeting)


@router.button(actions.HOUSEHOLDS)
async def households(ctx: Context, data: ButtonData) -> None:
    """Every registered household, who lives there and what each answered."""
    meeting = await _meeting(ctx, data)
    report = await meeting_views.attendance(ctx.session, meeting=meeting)
    lines = [ctx.t("meeting.households_heading", n=len(report.households))]
    numbers: dict[int | None, str] = {}
    for row in report.households:
        building_id = row.household[0]
        if building_id not in numbers:
            building = await ctx.session.get(Building, building_id) if building_id else None
            numbers[building_id] = (
                places.building_label(building, ctx.locale)
                if building
                else ctx.t("next_steps.building.not_given")
            )
        members = "，".join(
            ctx.t(
                f"meeting.member.{inv.response.value}",
                name=person.display_name or f"#{person.id}",
            )
            + (ctx.t("meeting.member.checked_in") if inv.checked_in_at else "")
            for person, inv in row.members
        )
        room = row.household[1]
        if room.startswith("#"):
            room = ctx.t("next_steps.room.not_given")
        lines.append(
            ctx.t(
                "meeting.household_line", building=numbers[building_id], room=room, members=members
            )
        )
        views = [inv.view_text for _, inv in row.members if inv.view_text]
        lines += [ctx.t("meeting.view_line", view=v) for v in views]
    lines.append(ctx.t("meeting.unregistered", n=report.unregistered))
    rows = [[actions.OPEN.button(ctx.t("meeting.button.back"), meeting.id)]]
    if report.unregistered and meeting.kind == MeetingKind.meeting:
        rows.insert(0, [actions.NOTICE.button(ctx.t("meeting.button.notice"), meeting.id)])
    ctx.reply("\n".join(lines), buttons=rows)


# --- minutes and outcome ------------------------------------------------------------------------


@router.button(actions.MINUTES)
async def minutes(ctx: Context, data: ButtonData) -> None:
    meeting = await _meeting(ctx, data)
    attendance.refuse_cancelled(meeting)
    ctx.goto(S_MINUTES, meeting_id=meeting.id)
    ctx.reply(ctx.t("meeting.ask_minutes"), buttons=[cancel_row(ctx)])


@router.state(S_MINUTES)
async def minutes_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("meeting.ask_minutes")
        return
    meeting = await _meeting(ctx)
    attendance.refuse_cancelled(meeting)
    meeting_outcome.set_minutes(meeting=meeting, text=text[:TEXT_LIMIT])
    ctx.goto("")
    ctx.say("meeting.minutes_saved")
    await show_manage(ctx, meeting)


@router.button(actions.OUTCOME)
async def outcome(ctx: Context, data: ButtonData) -> None:
    meeting = await _meeting(ctx, data)
    attendance.require_scheduled(meeting)
    ctx.goto(S_DECISION, meeting_id=meeting.id)
    ctx.reply(ctx.t("meeting.ask_decision"), buttons=[cancel_row(ctx)])


@router.state(S_DECISION)
async def decision_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("meeting.ask_decision")
        return
    await _meeting(ctx)
    ctx.update_data(decision=text[:TEXT_LIMIT])
    ctx.conversation.state = S_ACTIONS
    rows = [
        [actions.NO_ACTIONS.button(ctx.t("meeting.button.no_actions"))],
        cancel_row(ctx),
    ]
    ctx.reply(ctx.t("meeting.ask_actions"), buttons=rows)


@router.state(S_ACTIONS)
async def actions_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("meeting.ask_actions")
        return
    await _record(ctx, text[:TEXT_LIMIT])


@router.button(actions.NO_ACTIONS)
async def no_actions(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_ACTIONS:
        await stale_button(ctx)
        return
    await _record(ctx, "")


async def _record(ctx: Context, actions: str) -> None:
    meeting = await _meeting(ctx)
    attendance.require_scheduled(meeting)
    closed = await ballots.closed_polls(ctx.session, meeting_id=meeting.id)
    await meeting_outcome.record_outcome(
        ctx.session,
        meeting=meeting,
        actor=ctx.person,
        decision=ctx.data.get("decision", ""),
        actions=actions,
        polls=closed,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("meeting.outcome_recorded", id=meeting.id)
    await show_manage(ctx, meeting)


# --- calling it off -----------------------------------------------------------------------------


@router.button(actions.CALL_OFF)
async def call_off(ctx: Context, data: ButtonData) -> None:
    """Ask why (the reason goes to the residents) before calling the meeting off."""
    meeting = await _meeting(ctx, data)
    attendance.require_scheduled(meeting)
    invited = len(await audience.invitee_ids(ctx.session, meeting=meeting))
    ctx.goto(S_CANCEL, meeting_id=meeting.id)
    rows = [
        [actions.CALL_OFF_NOW.button(ctx.t("meeting.button.call_off_now"))],
        [actions.OPEN.button(ctx.t("meeting.button.keep"), meeting.id)],
    ]
    ctx.reply(
        ctx.t("meeting.ask_call_off", id=meeting.id, topic=meeting.topic, n=invited), buttons=rows
    )


@router.state(S_CANCEL)
async def call_off_reason(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("meeting.ask_call_off_reason")
        return
    await _call_off(ctx, text[:TEXT_LIMIT])


@router.button(actions.CALL_OFF_NOW)
async def call_off_now(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_CANCEL:
        await stale_button(ctx)
        return
    await _call_off(ctx, "")


async def _call_off(ctx: Context, reason: str) -> None:
    meeting = await _meeting(ctx)
    told = await meeting_outcome.cancel(
        ctx.session,
        meeting=meeting,
        actor=ctx.person,
        reason=reason,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("meeting.called_off", id=meeting.id, n=told)
    await show_manage(ctx, meeting)
