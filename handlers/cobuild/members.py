"""Members report in (报到) and serve: `/reportin` (choose your unit; your community is where
you live), the community admin's Confirm / Decline, Join on a call to an activity
(`callouts`), `/hours` (your ledger, with each activity's date and place; `/hours <activity>
<hours>` reports them) and the organiser's Confirm. No conversation state: each command and
press stands alone and re-checks the person's rights in the database.

```mermaid
stateDiagram-v2
    [*] --> pending: /reportin, unit chosen (admins get Confirm / Decline)
    pending --> confirmed: Confirm
    pending --> declined: Decline
    declined --> pending: /reportin again
    confirmed --> joined: Join on a call (/callout: handlers/cobuild/callouts.py)
    joined --> reported: /hours <activity> <hours>
    reported --> ledger: organiser's Confirm
```
"""

from __future__ import annotations

import re

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import InvalidTransition
from bot.services.cobuild import actions, activities, members

router = Router()


@router.command("reportin")
async def report_in(ctx: Context) -> None:
    """Offer the reporting units; a member already reported in sees where they stand."""
    community = await members.home_community(ctx.session, person=ctx.person)
    units = await members.list_units(ctx.session)
    member = await members.get_membership(ctx.session, person_id=ctx.person.id)
    if member is not None:
        ctx.say(f"cobuild.member.status.{member.status}")
    rows = [[actions.REPORT_TO.button(u.name(ctx.locale), u.id)] for u in units]
    ctx.reply(ctx.t("cobuild.member.choose", community=community.name(ctx.locale)), buttons=rows)


@router.button(actions.REPORT_TO)
async def report_to(ctx: Context, data: ButtonData) -> None:
    """The member chose their unit: pending until the community's admin confirms."""
    _member, unit, community = await members.report_in(
        ctx.session,
        person=ctx.person,
        unit_id=data.int_arg() or 0,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.say(
        "cobuild.member.reported", unit=unit.name(ctx.locale), community=community.name(ctx.locale)
    )


@router.button(actions.MEMBER_CONFIRM, actions.MEMBER_DECLINE)
async def decide_member(ctx: Context, data: ButtonData) -> None:
    """A community admin confirms or declines a member who reported in."""
    member, changed = await members.decide(
        ctx.session,
        member_id=data.int_arg() or 0,
        confirm=data.action == actions.MEMBER_CONFIRM.wire,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    key = f"cobuild.member.decided.{member.status}" if changed else "cobuild.already"
    ctx.say(key)


@router.button(actions.JOIN)
async def join(ctx: Context, data: ButtonData) -> None:
    """A member joins an activity they were called to."""
    activity, joined = await activities.join(
        ctx.session, activity_id=data.int_arg() or 0, person=ctx.person, now=ctx.now
    )
    key = "cobuild.activity.joined" if joined else "cobuild.already"
    ctx.say(key, id=activity.id, title=activity.title)


_HOURS = re.compile(r"^\s*#?(\d{1,9})\s+(\d{1,2}(?:[.,]\d)?)\s*$")


@router.command("hours")
async def hours(ctx: Context) -> None:
    """`/hours`: the member's ledger this year; `/hours <activity> <hours>` reports hours."""
    args = ctx.incoming.args.strip()
    if not args:
        await _show_ledger(ctx)
        return
    match = _HOURS.match(args)
    if match is None:
        raise InvalidTransition("cobuild.hours.usage")
    entry = await activities.report_hours(
        ctx.session,
        activity_id=int(match.group(1)),
        hours=float(match.group(2).replace(",", ".")),
        person=ctx.person,
        settings=ctx.settings,
    )
    ctx.say("cobuild.hours.reported", hours=entry.hours)


async def _show_ledger(ctx: Context) -> None:
    member = await members.get_membership(ctx.session, person_id=ctx.person.id)
    if member is None:
        ctx.say("cobuild.member.not_member")
        return
    year = ctx.now.year
    rows = await activities.ledger(ctx.session, member_id=member.id, year=year)
    lines = [
        ctx.t(
            "cobuild2.hours.line" if entry.hours is not None else "look.hours.line_unreported",
            id=activity.id,
            title=activity.title,
            when=activities.when(activity, ctx.locale, ctx.settings, now=ctx.now),
            place=activity.place or ctx.t("next_steps.place.not_given"),
            hours=entry.hours if entry.hours is not None else 0,
            state=ctx.t(
                "cobuild.hours.confirmed_mark" if entry.confirmed_at else "cobuild.hours.open_mark"
            ),
        )
        for activity, entry in rows
    ]
    total = sum(entry.hours or 0 for _a, entry in rows if entry.confirmed_at)
    ctx.say(
        "cobuild.hours.ledger",
        year=year,
        total=total,
        lines="\n".join(lines) or ctx.t("next_steps.hours.none"),
    )


@router.button(actions.HOURS_CONFIRM)
async def confirm_hours(ctx: Context, data: ButtonData) -> None:
    """The organiser confirms a member's reported hours."""
    entry, activity, changed = await activities.confirm_hours(
        ctx.session,
        entry_id=data.int_arg() or 0,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    key = "cobuild.hours.confirmed_by_you" if changed else "cobuild.already"
    ctx.say(key, hours=entry.hours, title=activity.title)
