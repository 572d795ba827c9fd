"""Meetings as residents see them: the invitation's answers, check-in (button or the notice's
QR code, `/start m_<id>`), voting for one's household, and `/meetings`.

```mermaid
stateDiagram-v2
    [*] --> view: 发表意见 (Send my view) on an invitation
    view --> [*]: text typed (kept for the organiser)
    [*] --> [*]: 参加 / 不能参加 / 签到 / an option of a ballot
```
The view state answers /cancel. Every press re-checks that the presser lives in the scope.
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotFound
from bot.messages import Button
from bot.services.meetings import actions, attendance, ballots, cards, convene, notice, views
from bot.services.org import actions as org_actions
from bot.services.org import people
from handlers.common import stale_button
from handlers.meetings.manage import show_manage
from models import (
    Compound,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    MeetingStatus,
    PollStatus,
    Rsvp,
)

router = Router()

S_VIEW = "mt.view"


async def _meeting(ctx: Context, meeting_id: int) -> Meeting:
    meeting = await ctx.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("meeting.not_found")
    return meeting


@router.button(actions.OPEN)
async def open_meeting(ctx: Context, data: ButtonData) -> None:
    meeting = await _meeting(ctx, data.int_arg() or 0)
    if await convene.may_manage(ctx.session, meeting=meeting, person=ctx.person):
        ctx.goto("")
        await show_manage(ctx, meeting)
        return
    await show_resident(ctx, meeting)


async def show_resident(ctx: Context, meeting: Meeting) -> None:
    """The meeting for a resident of its scope: what, where, when, their answer, open ballots."""
    invitation = await attendance.invitation_for(
        ctx.session, meeting=meeting, person=ctx.person, now=ctx.now
    )
    ctx.goto("")
    lines = [
        cards.describe(meeting, ctx.locale, settings=ctx.settings),
        ctx.t(f"meeting.status.{meeting.status.value}"),
    ]
    if meeting.status == MeetingStatus.cancelled:
        if meeting.cancel_reason:
            lines.append(ctx.t("meeting.cancel_reason", reason=meeting.cancel_reason))
    else:
        lines.append(ctx.t(f"meeting.your_answer.{invitation.response.value}"))
    if meeting.decision:
        lines.append(
            ctx.t(
                "meeting.outcome_push",
                topic=meeting.topic,
                decision=meeting.decision,
                actions=meeting.actions or ctx.t("next_steps.none"),
            )
        )
    scheduled = meeting.status == MeetingStatus.scheduled
    rows = cards.rsvp_buttons(meeting, ctx.locale) if scheduled else []
    if attendance.check_in_open(meeting, ctx.now) and invitation.checked_in_at is None:
        rows.append([actions.CHECK_IN.button(ctx.t("meeting.button.check_in"), meeting.id)])
    ctx.reply("\n".join(lines), buttons=rows)
    for poll in await ballots.list_polls(ctx.session, meeting_id=meeting.id):
        if poll.status == PollStatus.open:
            options = await ballots.list_options(ctx.session, poll_id=poll.id)
            ballot = cards.ballot(poll, options, ctx.locale)
            ctx.reply(ballot.text, buttons=ballot.buttons)


@router.button(actions.RSVP)
async def rsvp(ctx: Context, data: ButtonData) -> None:
    code = data.args[1] if len(data.args) > 1 else ""
    if code not in cards.RSVP_CODES:
        await stale_button(ctx)
        return
    meeting = await attendance.get_open(ctx.session, meeting_id=data.int_arg() or 0)
    if code == "v":
        # Check the right before asking for the text, so nobody types in vain.
        await attendance.invitation_for(
            ctx.session, meeting=meeting, person=ctx.person, now=ctx.now
        )
        ctx.goto(S_VIEW, meeting_id=meeting.id)
        ctx.reply(
            ctx.t("meeting.ask_view"),
            buttons=[[org_actions.MENU.button(ctx.t("core.cancel"))]],
        )
        return
    response = Rsvp(cards.RSVP_CODES[code])
    await attendance.respond(
        ctx.session, meeting=meeting, person=ctx.person, response=response, now=ctx.now
    )
    ctx.goto("")
    ctx.say(f"meeting.answered.{response.value}", topic=meeting.topic)


@router.state(S_VIEW)
async def view_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not text:
        ctx.say("meeting.ask_view")
        return
    meeting = await attendance.get_open(ctx.session, meeting_id=int(ctx.data.get("meeting_id", 0)))
    invitation = await ctx.session.get(MeetingInvitation, (meeting.id, ctx.person.id))
    # A view does not undo "coming": someone who comes may still write down their view.
    keep = invitation is not None and invitation.response == Rsvp.coming
    await attendance.respond(
        ctx.session,
        meeting=meeting,
        person=ctx.person,
        response=Rsvp.coming if keep else Rsvp.view,
        view_text=text,
        now=ctx.now,
    )
    ctx.goto("")
    ctx.say("meeting.answered.view", topic=meeting.topic)


@router.button(actions.CHECK_IN)
async def check_in_button(ctx: Context, data: ButtonData) -> None:
    meeting = await attendance.get_open(ctx.session, meeting_id=data.int_arg() or 0)
    await _check_in(ctx, meeting)


async def _check_in(ctx: Context, meeting: Meeting) -> None:
    _invitation, first = await attendance.check_in(
        ctx.session, meeting=meeting, person=ctx.person, now=ctx.now
    )
    ctx.goto("")
    ctx.say("meeting.checked_in" if first else "meeting.already_checked_in", topic=meeting.topic)


async def start_payload(ctx: Context, payload: str) -> None:
    """`/start m_<id>` from the notice's QR code: check in at the meeting, or show it."""
    meeting = await _meeting(ctx, notice.parse_payload(payload) or 0)
    if not people.is_registered(ctx.person):
        from handlers.org import onboarding

        if ctx.person.language is None:
            ctx.person.language = ctx.locale
        ctx.say("meeting.register_first", topic=meeting.topic)
        compound = await ctx.session.get(Compound, meeting.compound_id)
        if compound is not None:
            await onboarding.ask_building(ctx, compound)
        return
    if meeting.kind == MeetingKind.meeting and attendance.check_in_open(meeting, ctx.now):
        await _check_in(ctx, meeting)
        return
    await show_resident(ctx, meeting)


@router.button(actions.VOTE)
async def vote(ctx: Context, data: ButtonData) -> None:
    cast = await ballots.cast_vote(
        ctx.session,
        poll_id=data.int_arg() or 0,
        option_id=data.int_arg(1) or 0,
        person=ctx.person,
        now=ctx.now,
    )
    ctx.goto("")
    ctx.say("meeting.voted", option=cast.option.text, question=cast.poll.question)
    if cast.housemates:
        names = (name or ctx.t("next_steps.housemate") for name in cast.housemates)
        ctx.say("meeting.household_shared", names="，".join(names))


@router.command("meetings")
async def list_meetings(ctx: Context) -> None:
    """Upcoming and past meetings in the person's scope, each a button."""
    upcoming, past = await views.list_for_person(ctx.session, person=ctx.person, now=ctx.now)
    ctx.goto("")
    if not upcoming and not past:
        ctx.say("meeting.none")
        return
    rows: list[list[Button]] = []
    lines: list[str] = []
    for heading, group in (("meeting.upcoming", upcoming), ("meeting.past", past)):
        if not group:
            continue
        lines.append(ctx.t(heading))
        for meeting in group:
            label = cards.describe(meeting, ctx.locale, settings=ctx.settings)
            lines.append(label)
            if meeting.status == MeetingStatus.cancelled:  # listed with the past ones
                lines.append(ctx.t("meeting.status.cancelled"))
            rows.append([actions.OPEN.button(label.splitlines()[0][:60], meeting.id)])
    ctx.reply("\n".join(lines), buttons=rows)
