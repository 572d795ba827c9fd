"""A community's admin calls its confirmed members to an activity (`/callout`): what, when and
where, asked in turn (dates and the community's compounds as buttons), or in one line:
`/callout [community code] title | 12-05 09:00 | place`. The members get the call with the
date and place and a Join button (handlers/cobuild/members.py).

```mermaid
stateDiagram-v2
    [*] --> title: /callout (an admin of one community, or naming one)
    [*] --> when: /callout [code] title
    [*] --> called: /callout [code] title | when | place
    title --> when: the title, typed
    when --> place: a date and time, typed or a button
    place --> called: a place, typed or one of the community's compounds
```
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import InvalidTransition, NotFound
from bot.services.cobuild import actions, activities
from handlers.cobuild import common
from handlers.common import cancel_row
from models import OrgUnit

router = Router()

S_TITLE = "cobuild_callout_title"
S_WHEN = "cobuild_callout_when"
S_PLACE = "cobuild_callout_place"
_WHEN = re.compile(
    r"^\s*(?:(\d{4})[-./年])?(\d{1,2})[-./月](\d{1,2})日?(?:\s*(\d{1,2})(?:[:：点](\d{2})?)?)?\s*$"
)
STAMP = "%Y%m%d%H%M"  # a local moment on a button (no colons: they separate button fields)
DEFAULT_HOUR = 9


def parse_when(text: str, today: date) -> datetime | None:
    """`12-05 09:00`, `2026-12-05 9:30`, `12月5日 9点` (local; 09:00 without a time), or None."""
    match = _WHEN.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    try:
        return datetime.combine(
            date(int(year or today.year), int(month), int(day)),
            time(int(hour or DEFAULT_HOUR), int(minute or 0)),
        )
    except ValueError:
        return None


def _local(ctx: Context, naive: datetime) -> datetime:
    return naive.replace(tzinfo=ctx.settings.tz)


@router.command("callout")
async def call_out(ctx: Context) -> None:
    """`/callout [community code] [title [| when | place]]`."""
    chosen, rest, communities = await common.admin_community(ctx)
    if chosen is None:
        ctx.say("cobuild.activity.usage", communities=common.codes(ctx, communities))
        return
    parts = [p.strip() for p in re.split(r"[|｜]", rest)]
    if len(parts) == 3:
        when = parse_when(parts[1], ctx.now.astimezone(ctx.settings.tz).date())
        if when is None:
            raise InvalidTransition("cobuild2.callout.bad_when")
        await _call(ctx, chosen, parts[0], _local(ctx, when), parts[2])
        return
    if len(parts) != 1:
        ctx.say("cobuild.activity.usage", communities=common.codes(ctx, communities))
        return
    ctx.goto(S_TITLE, community_id=chosen.id)
    if parts[0]:
        await _title(ctx, parts[0])
        return
    ctx.reply(ctx.t("cobuild2.callout.ask_title"), buttons=[cancel_row(ctx)])


@router.state(S_TITLE)
async def title_typed(ctx: Context) -> None:
    text = " ".join(ctx.incoming.text.split()) if ctx.incoming.kind == "text" else ""
    if not text:
        ctx.say("cobuild2.callout.ask_title")
        return
    await _title(ctx, text)


async def _title(ctx: Context, title: str) -> None:
    ctx.goto(S_WHEN, community_id=ctx.data.get("community_id"), title=title[:200])
    today = ctx.now.astimezone(ctx.settings.tz).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    offers = [
        ("tomorrow", today + timedelta(days=1)),
        ("saturday", saturday),
        ("next_saturday", saturday + timedelta(days=7)),
    ]
    rows = [
        [
            actions.CALLOUT_STEP.button(
                f"{ctx.t(f'cobuild2.button.{name}')} {day:%m-%d} 09:00",
                "when",
                datetime.combine(day, time(DEFAULT_HOUR)).strftime(STAMP),
            )
        ]
        for name, day in offers
    ]
    ctx.reply(ctx.t("cobuild2.callout.ask_when", title=title), buttons=[*rows, cancel_row(ctx)])


@router.state(S_WHEN)
async def when_typed(ctx: Context) -> None:
    text = ctx.incoming.text if ctx.incoming.kind == "text" else ""
    when = parse_when(text, ctx.now.astimezone(ctx.settings.tz).date())
    if when is None:
        ctx.say("cobuild2.callout.bad_when")
        return
    await _when(ctx, _local(ctx, when))


async def _community(ctx: Context) -> OrgUnit:
    """The community of the call being made, its admin's rights re-checked."""
    community_id = int(ctx.data.get("community_id", 0))
    return await activities.callout_community(
        ctx.session, community_id=community_id, actor=ctx.person
    )


async def _when(ctx: Context, when: datetime) -> None:
    if when <= ctx.now:
        ctx.say("cobuild2.callout.past")
        return
    community = await _community(ctx)
    ctx.goto(S_PLACE, **{**ctx.data, "starts": when.isoformat()})
    compounds = await activities.callout_places(ctx.session, community=community)
    rows = [
        [actions.CALLOUT_STEP.button(c.name(ctx.locale)[:40], "place", c.id)] for c in compounds
    ]
    ctx.reply(ctx.t("cobuild2.callout.ask_place"), buttons=[*rows, cancel_row(ctx)])


@router.state(S_PLACE)
async def place_typed(ctx: Context) -> None:
    text = " ".join(ctx.incoming.text.split()) if ctx.incoming.kind == "text" else ""
    if not text:
        ctx.say("cobuild2.callout.ask_place")
        return
    await _call(
        ctx,
        await _community(ctx),
        str(ctx.data.get("title", "")),
        datetime.fromisoformat(str(ctx.data["starts"])),
        text,
    )


@router.button(actions.CALLOUT_STEP)
async def step_pressed(ctx: Context, data: ButtonData) -> None:
    """A date (at the when step) or a compound (at the place step)."""
    step, value = (*data.args, "", "")[:2]
    if step == "when" and ctx.state == S_WHEN:
        try:
            when = datetime.strptime(value, STAMP)
        except ValueError:
            raise NotFound("core.stale_button") from None
        await _when(ctx, _local(ctx, when))
        return
    if step != "place" or ctx.state != S_PLACE:
        raise NotFound("core.stale_button")
    community = await _community(ctx)
    compound = await activities.callout_place(
        ctx.session, community=community, compound_id=int(value) if value.isdigit() else 0
    )
    when = datetime.fromisoformat(str(ctx.data["starts"]))
    await _call(ctx, community, str(ctx.data.get("title", "")), when, compound.name(ctx.locale))


async def _call(ctx: Context, community: OrgUnit, title: str, when: datetime, place: str) -> None:
    activity, called = await activities.call_out(
        ctx.session,
        community=community,
        title=title,
        starts_at=when,
        place=place,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say(
        "cobuild2.activity.called",
        id=activity.id,
        title=activity.title,
        when=activities.when(activity, ctx.locale, ctx.settings, now=ctx.now),
        place=activity.place,
        count=called,
    )
