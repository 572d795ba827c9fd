"""What meetings push, rendered per recipient locale: invitations, reminders, ballots, results,
outcomes; and the notes they leave on a request's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config import Settings
from bot.i18n import moment, t
from bot.messages import Button, Outgoing
from bot.services.meetings import actions
from bot.services.meetings.poll_rules import Result
from models import Meeting, MeetingKind, Poll, PollOption

# The answers `actions.RSVP` carries after the meeting id.
RSVP_CODES = {"c": "coming", "n": "not_coming", "v": "view"}


def local_time(value: datetime | None, settings: Settings, locale: str) -> str:
    """A moment in the district's time zone, as people read it (`bot.i18n.moment`)."""
    return moment(value, locale, settings.tz)


def describe(meeting: Meeting, locale: str, *, settings: Settings) -> str:
    """Topic, place and time (or "poll" for a poll without a meeting)."""
    if meeting.kind == MeetingKind.poll:
        return t(locale, "meeting.describe_poll", id=meeting.id, topic=meeting.topic)
    return t(
        locale,
        "meeting.describe",
        id=meeting.id,
        topic=meeting.topic,
        place=meeting.place or t(locale, "next_steps.not_set"),
        when=local_time(meeting.starts_at, settings, locale),
    )


def rsvp_buttons(meeting: Meeting, locale: str) -> list[list[Button]]:
    """Coming / Can't come / Send my view (a poll without a meeting: only the view)."""
    view = actions.RSVP.button(t(locale, "meeting.button.view"), meeting.id, "v")
    if meeting.kind == MeetingKind.poll:
        return [[view]]
    return [
        [
            actions.RSVP.button(t(locale, "meeting.button.coming"), meeting.id, "c"),
            actions.RSVP.button(t(locale, "meeting.button.not_coming"), meeting.id, "n"),
        ],
        [view],
    ]


def invitation(meeting: Meeting, locale: str, *, settings: Settings) -> Outgoing:
    """The invitation pushed to every resident of the scope."""
    key = "meeting.invite_poll" if meeting.kind == MeetingKind.poll else "meeting.invite"
    text = t(locale, key) + "\n" + describe(meeting, locale, settings=settings)
    return Outgoing(text=text, buttons=rsvp_buttons(meeting, locale))


def reminder(meeting: Meeting, locale: str, *, settings: Settings, which: str) -> Outgoing:
    """The day-before or hour-before reminder, with the check-in button."""
    text = (
        t(locale, f"meeting.reminder_{which}") + "\n" + describe(meeting, locale, settings=settings)
    )
    check_in = actions.CHECK_IN.button(t(locale, "meeting.button.check_in"), meeting.id)
    return Outgoing(text=text, buttons=[[check_in]])


def ballot(poll: Poll, options: Sequence[PollOption], locale: str) -> Outgoing:
    """The ballot: one button per option."""
    text = t(locale, "meeting.ballot", question=poll.question, rule=t(locale, rule_key(poll)))
    rows = [[actions.VOTE.button(o.text, poll.id, o.id)] for o in options]
    return Outgoing(text=text, buttons=rows)


def rule_key(poll: Poll) -> str:
    """The catalog key naming a poll's rule."""
    return f"meeting.rule.{poll.rule.value}"


def result_text(poll: Poll, options: Sequence[PollOption], result: Result, locale: str) -> str:
    """Counts per option, participation, and whether the rule is met."""
    lines = [t(locale, "meeting.result_heading", question=poll.question)]
    for option in options:
        line = t(
            locale, "meeting.result_line", option=option.text, n=result.counts.get(option.id, 0)
        )
        if result.areas:
            line += t(locale, "meeting.result_area", area=f"{result.areas.get(option.id, 0):.1f}")
        lines.append(line)
    lines.append(
        t(
            locale,
            "meeting.participation",
            participants=result.participants,
            households=result.households,
        )
    )
    if result.total_area is not None and result.participating_area is not None:
        lines.append(
            t(
                locale,
                "meeting.participation_area",
                area=f"{result.participating_area:.1f}",
                total=f"{result.total_area:.1f}",
            )
        )
    winner = next((o.text for o in options if o.id == result.winner), "")
    lines.append(t(locale, "meeting.rule_named", rule=t(locale, rule_key(poll))))
    if not result.quorum_met:
        lines.append(t(locale, "meeting.quorum_not_met"))
    elif result.approved:
        lines.append(t(locale, "meeting.approved", option=winner))
    else:
        lines.append(t(locale, "meeting.not_approved"))
    return "\n".join(lines)


def result_message(
    meeting: Meeting, poll: Poll, options: Sequence[PollOption], result: Result, locale: str
) -> Outgoing:
    """The result pushed at the close of voting."""
    text = t(locale, "meeting.closed_push", topic=meeting.topic) + "\n"
    return Outgoing(text=text + result_text(poll, options, result, locale))


PollWithOptions = tuple[Poll, Sequence[PollOption]]


def polls_summary(polls: Sequence[PollWithOptions], locale: str) -> str:
    """The stored results of closed polls, one block each."""
    blocks = [
        result_text(poll, options, Result.from_dict(poll.result), locale)
        for poll, options in polls
        if poll.result is not None
    ]
    return "\n\n".join(blocks)


def outcome(meeting: Meeting, locale: str, *, polls: Sequence[PollWithOptions]) -> Outgoing:
    """The outcome pushed to the invited residents."""
    text = t(
        locale,
        "meeting.outcome_push",
        topic=meeting.topic,
        decision=meeting.decision or t(locale, "next_steps.not_given"),
        actions=meeting.actions or t(locale, "next_steps.none"),
    )
    summary = polls_summary(polls, locale)
    return Outgoing(text=text + ("\n\n" + summary if summary else ""))


def cancelled(meeting: Meeting, locale: str, *, settings: Settings) -> Outgoing:
    """The news that a meeting (or poll) is called off, pushed to those it concerned."""
    text = t(locale, "meeting.cancelled_push", what=describe(meeting, locale, settings=settings))
    return Outgoing(text=_with_reason(text, meeting, locale))


def cancelled_note(meeting: Meeting, settings: Settings) -> str:
    """The cancellation as a timeline note, in the district's default language."""
    note = timeline_note(meeting, settings, key="cancelled")
    return _with_reason(note, meeting, settings.locale.default)


def _with_reason(text: str, meeting: Meeting, locale: str) -> str:
    if not meeting.cancel_reason:
        return text
    return text + "\n" + t(locale, "meeting.cancel_reason", reason=meeting.cancel_reason)


def timeline_note(meeting: Meeting, settings: Settings, *, key: str) -> str:
    """A note for the request's timeline, in the district's default language."""
    locale = settings.locale.default
    return t(locale, f"meeting.timeline.{key}") + " " + describe(meeting, locale, settings=settings)


def outcome_note(meeting: Meeting, settings: Settings, *, polls: Sequence[PollWithOptions]) -> str:
    """The outcome as a timeline note, in the district's default language."""
    locale = settings.locale.default
    text = t(
        locale,
        "meeting.timeline.outcome",
        topic=meeting.topic,
        decision=meeting.decision or t(locale, "next_steps.not_given"),
        actions=meeting.actions or t(locale, "next_steps.none"),
    )
    summary = polls_summary(polls, locale)
    return text + ("\n" + summary if summary else "")
