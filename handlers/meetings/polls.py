"""Polls of a meeting, for its organiser: question, rule, options, opening and closing.

```mermaid
stateDiagram-v2
    [*] --> question: 新增表决 (mtpn)
    question --> rule: question typed
    rule --> options: a rule chosen (simple majority / Civil Code ordinary / major)
    options --> options: options typed (one per line)
    options --> [*]: 完成 (draft poll shown with 开始表决)
    [*] --> closing: 开始表决 (mtpo)
    closing --> [*]: 手动结束 / 1小时后 / 24小时后 / a time typed (ballots pushed)
```
`/openpoll <id>` and `/closepoll <id>` do the same by command; while open, the organiser sees
who voted for each household but no counts; voters never see a tally before the close.
Every state answers /cancel.
"""

from __future__ import annotations

from datetime import timedelta

from bot.buttons import ButtonData, parse_id
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotFound
from bot.services.meetings import actions, attendance, ballots, cards
from bot.services.meetings.poll_rules import Result
from handlers.cases.render import when
from handlers.common import cancel_row, stale_button
from handlers.meetings.manage import _meeting, show_manage
from models import Poll, PollRule, PollStatus

router = Router()

S_QUESTION = "mt.poll_q"
S_OPTIONS = "mt.poll_opts"
S_CLOSING = "mt.poll_close"


# --- polls ------------------------------------------------------------------------------------


@router.button(actions.NEW_POLL)
async def new_poll(ctx: Context, data: ButtonData) -> None:
    meeting = await _meeting(ctx, data)
    attendance.require_scheduled(meeting)
    ctx.goto(S_QUESTION, meeting_id=meeting.id)
    ctx.reply(ctx.t("meeting.ask_question"), buttons=[cancel_row(ctx)])


@router.state(S_QUESTION)
async def question_typed(ctx: Context) -> None:
    question = ctx.incoming.text.strip()
    if ctx.incoming.kind != "text" or not question:
        ctx.say("meeting.ask_question")
        return
    await _meeting(ctx)
    ctx.update_data(question=question[:300])
    rows = [
        [actions.POLL_RULE.button(ctx.t(f"meeting.rule.{rule.value}"), rule.value)]
        for rule in PollRule
    ]
    ctx.reply(ctx.t("meeting.ask_rule"), buttons=[*rows, cancel_row(ctx)])


@router.button(actions.POLL_RULE)
async def rule_chosen(ctx: Context, data: ButtonData) -> None:
    value = data.args[0] if data.args else ""
    if (
        ctx.state != S_QUESTION
        or value not in {r.value for r in PollRule}
        or not ctx.data.get("question")
    ):
        await stale_button(ctx)
        return
    meeting = await _meeting(ctx)
    poll = await ballots.create_poll(
        ctx.session,
        meeting=meeting,
        actor=ctx.person,
        question=ctx.data["question"],
        rule=PollRule(value),
    )
    ctx.goto(S_OPTIONS, meeting_id=meeting.id, poll_id=poll.id)
    ctx.reply(ctx.t("meeting.ask_options"), buttons=[cancel_row(ctx)])


@router.state(S_OPTIONS)
async def option_typed(ctx: Context) -> None:
    poll, _meeting_row = await ballots.get_managed(
        ctx.session, poll_id=int(ctx.data.get("poll_id", 0)), person=ctx.person
    )
    for line in ctx.incoming.text.splitlines():
        await ballots.add_option(ctx.session, poll=poll, text=line)
    options = await ballots.list_options(ctx.session, poll_id=poll.id)
    listing = "\n".join(f"{n}. {o.text}" for n, o in enumerate(options, start=1))
    rows = [
        [actions.OPTIONS_DONE.button(ctx.t("meeting.button.options_done"), poll.id)],
        cancel_row(ctx),
    ]
    ctx.reply(ctx.t("meeting.options_so_far", options=listing), buttons=rows)


@router.button(actions.OPTIONS_DONE)
async def options_done(ctx: Context, data: ButtonData) -> None:
    poll, meeting = await ballots.get_managed(
        ctx.session, poll_id=data.int_arg() or 0, person=ctx.person
    )
    options = await ballots.list_options(ctx.session, poll_id=poll.id)
    if len(options) < 2:
        ctx.say("meeting.poll_needs_options")
        return
    ctx.goto("")
    await show_manage(ctx, meeting)


async def ask_closing(ctx: Context, poll: Poll) -> None:
    ctx.goto(S_CLOSING, poll_id=poll.id)
    rows = [
        [actions.OPEN_POLL_FOR.button(ctx.t("meeting.button.close_by_hand"), poll.id, 0)],
        [
            actions.OPEN_POLL_FOR.button(ctx.t("meeting.button.close_in_hour"), poll.id, 60),
            actions.OPEN_POLL_FOR.button(ctx.t("meeting.button.close_in_day"), poll.id, 1440),
        ],
        cancel_row(ctx),
    ]
    ctx.reply(ctx.t("meeting.ask_closing"), buttons=rows)


@router.button(actions.OPEN_POLL)
async def open_poll_button(ctx: Context, data: ButtonData) -> None:
    poll, _meeting_row = await ballots.get_managed(
        ctx.session, poll_id=data.int_arg() or 0, person=ctx.person
    )
    if poll.status != PollStatus.draft:
        raise NotFound("meeting.poll_not_draft")
    await ask_closing(ctx, poll)


async def _open(ctx: Context, poll: Poll, minutes: int | None) -> None:
    closes_at = ctx.now + timedelta(minutes=minutes) if minutes else None
    sent = await ballots.open_poll(
        ctx.session, poll=poll, closes_at=closes_at, now=ctx.now, settings=ctx.settings
    )
    ctx.goto("")
    closing = when(ctx, closes_at) if closes_at else ctx.t("meeting.by_hand")
    ctx.say("meeting.poll_opened", id=poll.id, sent=sent, closing=closing)


@router.button(actions.OPEN_POLL_FOR)
async def open_poll_chosen(ctx: Context, data: ButtonData) -> None:
    poll, _meeting_row = await ballots.get_managed(
        ctx.session, poll_id=data.int_arg() or 0, person=ctx.person
    )
    minutes = data.int_arg(1)
    if minutes not in (0, 60, 1440):
        await stale_button(ctx)
        return
    await _open(ctx, poll, minutes)


@router.state(S_CLOSING)
async def closing_typed(ctx: Context) -> None:
    from handlers.meetings.common import parse_when

    poll, _meeting_row = await ballots.get_managed(
        ctx.session, poll_id=int(ctx.data.get("poll_id", 0)), person=ctx.person
    )
    moment = parse_when(ctx.incoming.text, now=ctx.now, tz=ctx.settings.tz)
    if moment is None or moment <= ctx.now:
        ctx.say("meeting.bad_when")
        return
    await _open(ctx, poll, int((moment - ctx.now).total_seconds() // 60) or 1)


@router.command("openpoll")
async def open_poll_command(ctx: Context) -> None:
    arg = ctx.incoming.args.strip().lstrip("#")
    poll, _meeting_row = await ballots.get_managed(
        ctx.session, poll_id=parse_id(arg) or 0, person=ctx.person
    )
    await _open(ctx, poll, None)


@router.button(actions.CLOSE_POLL)
async def close_poll_button(ctx: Context, data: ButtonData) -> None:
    await _close(ctx, data.int_arg() or 0)


@router.command("closepoll")
async def close_poll_command(ctx: Context) -> None:
    arg = ctx.incoming.args.strip().lstrip("#")
    await _close(ctx, parse_id(arg) or 0)


async def _close(ctx: Context, poll_id: int) -> None:
    poll, meeting = await ballots.get_managed(ctx.session, poll_id=poll_id, person=ctx.person)
    result = await ballots.close_poll(ctx.session, poll=poll, now=ctx.now, settings=ctx.settings)
    if result is None:
        raise NotFound("meeting.poll_closed")
    options = await ballots.list_options(ctx.session, poll_id=poll.id)
    ctx.goto("")
    ctx.reply(
        cards.result_text(poll, options, result, ctx.locale),
        buttons=[[actions.OPEN.button(ctx.t("meeting.button.back"), meeting.id)]],
    )


@router.button(actions.POLL_STATUS)
async def poll_status(ctx: Context, data: ButtonData) -> None:
    """While open: participation and who answered per household; once closed: the result."""
    poll, meeting = await ballots.get_managed(
        ctx.session, poll_id=data.int_arg() or 0, person=ctx.person
    )
    back = [[actions.OPEN.button(ctx.t("meeting.button.back"), meeting.id)]]
    if poll.status == PollStatus.closed and poll.result is not None:
        options = await ballots.list_options(ctx.session, poll_id=poll.id)
        result = Result.from_dict(poll.result)
        ctx.reply(cards.result_text(poll, options, result, ctx.locale), buttons=back)
        return
    groups = await ballots.household_votes(ctx.session, poll=poll)
    lines = [
        ctx.t(
            "meeting.poll_progress",
            id=poll.id,
            voted=len(groups),
            households=meeting.expected_households,
        )
    ]
    for group in groups:
        room = group.household[1]
        if room.startswith("#"):
            room = ctx.t("next_steps.room.not_given")
        answered = "，".join(
            (name or ctx.t("next_steps.housemate")) + ("" if i else ctx.t("meeting.counts"))
            for i, (name, _option, _at) in enumerate(group.votes)
        )
        # Only who answered, never what: the tally stays hidden until the close.
        lines.append(ctx.t("meeting.voted_line", room=room, names=answered))
    ctx.reply("\n".join(lines), buttons=back)
