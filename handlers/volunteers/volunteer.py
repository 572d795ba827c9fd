"""Red-wrench volunteers: registration (skills, availability), task pushes and their actions,
/mytasks, /myhours, /team (leaders), and the resident's rating of the work.

```mermaid
stateDiagram-v2
    [*] --> skills: invite redeemed, or /skills
    skills --> days: toggle skills, Done
    days --> times: all / weekdays / weekends
    times --> [*]: toggle times, Done (profile saved)
    [*] --> claimed: Claim (first press wins; others see "taken")
    claimed --> done_photos: Done
    done_photos --> done_hours: photos, then Continue
    done_hours --> [*]: hours (button or number): owner verifies, resident rates
    claimed --> cannot_reason: Cannot do
    cannot_reason --> [*]: reason (task back to the pool)
```
/cancel leaves any step; nothing is saved half-way.
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotFound
from bot.services.reports import stats
from bot.services.volunteers import actions, roster, task_work, tasks
from handlers.common import stale_button
from models import Request, VolunteerTask

router = Router()

S_SKILLS, S_DAYS, S_TIMES = "vl.skills", "vl.days", "vl.times"
S_PHOTOS, S_HOURS, S_REASON = "vl.done.photos", "vl.done.hours", "vl.cannot"
HOUR_CHOICES = (1, 2, 3, 4, 8)
MAX_PHOTOS = 10


# --- registration --------------------------------------------------------------------------
async def ask_skills(ctx: Context) -> None:
    """Start (or restart) choosing skills; the person must be a volunteer of a team."""
    profile = await roster.require_volunteer(ctx.session, person=ctx.person)
    ctx.goto(S_SKILLS, skills=list(profile.skills or []))
    _show_skills(ctx)


def _show_skills(ctx: Context) -> None:
    chosen = set(ctx.data.get("skills", []))
    rows = [
        [
            actions.SKILL.button(
                ("✓ " if skill in chosen else "") + ctx.t(f"volunteer.skill.{skill}"), index
            )
            for index, skill in enumerate(roster.SKILLS[start : start + 3], start=start)
        ]
        for start in range(0, len(roster.SKILLS), 3)
    ]
    rows.append([actions.SKILLS_DONE.button(ctx.t("volunteer.button.next"))])
    ctx.reply(ctx.t("volunteer.ask_skills"), buttons=rows)


@router.command("skills")
async def skills_command(ctx: Context) -> None:
    await ask_skills(ctx)


@router.button(actions.SKILL)
async def toggle_skill(ctx: Context, data: ButtonData) -> None:
    index = data.int_arg()
    await roster.require_volunteer(ctx.session, person=ctx.person)
    if ctx.state != S_SKILLS or index is None or index >= len(roster.SKILLS):
        await stale_button(ctx)
        return
    chosen = set(ctx.data.get("skills", []))
    chosen ^= {roster.SKILLS[index]}
    ctx.update_data(skills=sorted(chosen))
    _show_skills(ctx)


@router.button(actions.SKILLS_DONE)
async def skills_done(ctx: Context, _data: ButtonData) -> None:
    await roster.require_volunteer(ctx.session, person=ctx.person)
    if ctx.state != S_SKILLS:
        await stale_button(ctx)
        return
    ctx.goto(S_DAYS, skills=ctx.data.get("skills", []))
    ctx.reply(
        ctx.t("volunteer.ask_days"),
        buttons=[
            [actions.DAY.button(ctx.t(f"volunteer.days.{d}"), i) for i, d in enumerate(roster.DAYS)]
        ],
    )


@router.button(actions.DAY)
async def days_chosen(ctx: Context, data: ButtonData) -> None:
    index = data.int_arg()
    await roster.require_volunteer(ctx.session, person=ctx.person)
    if ctx.state != S_DAYS or index is None or index >= len(roster.DAYS):
        await stale_button(ctx)
        return
    ctx.goto(S_TIMES, skills=ctx.data.get("skills", []), days=roster.DAYS[index], times=[])
    _show_times(ctx)


def _show_times(ctx: Context) -> None:
    chosen = set(ctx.data.get("times", []))
    row = [
        actions.TIME.button(("✓ " if name in chosen else "") + ctx.t(f"volunteer.times.{name}"), i)
        for i, name in enumerate(roster.TIMES)
    ]
    ctx.reply(
        ctx.t("volunteer.ask_times"),
        buttons=[row, [actions.PROFILE_DONE.button(ctx.t("volunteer.button.save"))]],
    )


@router.button(actions.TIME)
async def toggle_time(ctx: Context, data: ButtonData) -> None:
    index = data.int_arg()
    names = list(roster.TIMES)
    await roster.require_volunteer(ctx.session, person=ctx.person)
    if ctx.state != S_TIMES or index is None or index >= len(names):
        await stale_button(ctx)
        return
    ctx.update_data(times=sorted(set(ctx.data.get("times", [])) ^ {names[index]}))
    _show_times(ctx)


@router.button(actions.PROFILE_DONE)
async def profile_done(ctx: Context, _data: ButtonData) -> None:
    if ctx.state != S_TIMES:
        await roster.require_volunteer(ctx.session, person=ctx.person)
        await stale_button(ctx)
        return
    profile = await roster.update_profile(
        ctx.session,
        person=ctx.person,
        skills=ctx.data.get("skills", []),
        availability={"days": ctx.data.get("days", "all"), "times": ctx.data.get("times", [])},
    )
    ctx.goto("")
    skills = "、".join(ctx.t(f"volunteer.skill.{s}") for s in profile.skills) or ctx.t(
        "next_steps.not_given"
    )
    ctx.say("volunteer.profile_saved", skills=skills)


# --- task actions --------------------------------------------------------------------------
async def _task_text(ctx: Context, task: VolunteerTask) -> str:
    reference = await tasks.reference_of(ctx.session, task=task)
    return ctx.t(
        "volunteer.task_line",
        reference=reference,
        status=ctx.t(f"volunteer.status.{task.status}"),
        description=task.description[:200],
    )


@router.button(actions.CLAIM)
async def claim(ctx: Context, data: ButtonData) -> None:
    won = await tasks.claim(
        ctx.session,
        task_id=data.int_arg() or 0,
        person=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    if not won:
        ctx.say("volunteer.already_taken")
        return
    task = await tasks.get_task(ctx.session, task_id=data.int_arg() or 0)
    message = ctx.reply(
        ctx.t("volunteer.claimed") + "\n" + await _task_text(ctx, task),
        buttons=tasks.task_buttons(task, ctx.locale),
    )
    # The push claimed from becomes the task (its claim button would only say "taken").
    message.edit_message_id = ctx.incoming.message_id


@router.button(actions.OPEN_TASK)
async def open_task(ctx: Context, data: ButtonData) -> None:
    task = await task_work.get_held(ctx.session, task_id=data.int_arg() or 0, person=ctx.person)
    ctx.reply(await _task_text(ctx, task), buttons=tasks.task_buttons(task, ctx.locale))


@router.button(actions.ON_MY_WAY)
async def on_my_way(ctx: Context, data: ButtonData) -> None:
    task = await task_work.on_my_way(
        ctx.session,
        task_id=data.int_arg() or 0,
        person=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.reply(ctx.t("volunteer.on_way_ok"), buttons=tasks.task_buttons(task, ctx.locale))


@router.button(actions.FINISH)
async def finish(ctx: Context, data: ButtonData) -> None:
    task = await task_work.get_held(ctx.session, task_id=data.int_arg() or 0, person=ctx.person)
    ctx.goto(S_PHOTOS, task_id=task.id, photos=[])
    ctx.reply(
        ctx.t("volunteer.ask_photos"),
        buttons=[[actions.PHOTOS_DONE.button(ctx.t("volunteer.button.next"), task.id)]],
    )


@router.state(S_PHOTOS)
async def photo_added(ctx: Context) -> None:
    if ctx.incoming.kind != "photo" or not ctx.incoming.photos:
        ctx.say("volunteer.ask_photos")
        return
    photos = [*ctx.data.get("photos", []), ctx.incoming.photos[-1].file_id][:MAX_PHOTOS]
    ctx.update_data(photos=photos)
    task_id = int(ctx.data.get("task_id", 0))
    ctx.reply(
        ctx.t("volunteer.photo_added", count=len(photos)),
        buttons=[[actions.PHOTOS_DONE.button(ctx.t("volunteer.button.next"), task_id)]],
    )


@router.button(actions.PHOTOS_DONE)
async def photos_done(ctx: Context, data: ButtonData) -> None:
    task = await task_work.get_held(ctx.session, task_id=data.int_arg() or 0, person=ctx.person)
    if ctx.state != S_PHOTOS or int(ctx.data.get("task_id", 0)) != task.id:
        await stale_button(ctx)
        return
    ctx.goto(S_HOURS, task_id=task.id, photos=ctx.data.get("photos", []))
    ctx.reply(
        ctx.t("volunteer.ask_hours"),
        buttons=[[actions.HOURS.button(str(h), task.id, h) for h in HOUR_CHOICES]],
    )


@router.button(actions.HOURS)
async def hours_chosen(ctx: Context, data: ButtonData) -> None:
    if ctx.state != S_HOURS or int(ctx.data.get("task_id", -1)) != (data.int_arg() or 0):
        await task_work.get_held(ctx.session, task_id=data.int_arg() or 0, person=ctx.person)
        await stale_button(ctx)
        return
    await _complete(ctx, float(data.int_arg(1) or 0))


@router.state(S_HOURS)
async def hours_typed(ctx: Context) -> None:
    try:
        hours = float(ctx.incoming.text.strip().replace("，", ".").replace(",", "."))
    except ValueError:
        ctx.say("volunteer.ask_hours")
        return
    await _complete(ctx, hours)


async def _complete(ctx: Context, hours: float) -> None:
    await task_work.complete(
        ctx.session,
        task_id=int(ctx.data.get("task_id", 0)),
        person=ctx.person,
        hours=hours,
        photos=ctx.data.get("photos", []),
        channel=ctx.incoming.channel,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("volunteer.done_ok", hours=f"{hours:g}")


@router.button(actions.CANNOT)
async def cannot(ctx: Context, data: ButtonData) -> None:
    task = await task_work.get_held(ctx.session, task_id=data.int_arg() or 0, person=ctx.person)
    ctx.goto(S_REASON, task_id=task.id)
    ctx.say("volunteer.ask_reason")


@router.state(S_REASON)
async def reason_typed(ctx: Context) -> None:
    if ctx.incoming.kind != "text" or not ctx.incoming.text.strip():
        ctx.say("volunteer.ask_reason")
        return
    pushed = await task_work.release(
        ctx.session,
        task_id=int(ctx.data.get("task_id", 0)),
        person=ctx.person,
        reason=ctx.incoming.text,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    ctx.say("volunteer.released", count=pushed)


@router.button(actions.RATE)
async def rate(ctx: Context, data: ButtonData) -> None:
    rating = data.int_arg(1) or 0
    await task_work.rate(
        ctx.session, task_id=data.int_arg() or 0, person=ctx.person, rating=rating, now=ctx.now
    )
    ctx.say("volunteer.rated", stars="⭐" * rating)


@router.button(actions.NEW_TASK)
async def create_task(ctx: Context, data: ButtonData) -> None:
    """Staff of the request's owner unit ask volunteers for help (button on their screens)."""
    request_id = data.int_arg() or 0
    request = await ctx.session.get(Request, request_id) if request_id < tasks.MAX_ID else None
    if request is None:
        raise NotFound("volunteer.error.task_not_found")
    _task, pushed = await tasks.create_from_request(
        ctx.session, request=request, actor=ctx.person, now=ctx.now, settings=ctx.settings
    )
    ctx.say("volunteer.task_created", reference=request.reference, count=pushed)


# --- lists ---------------------------------------------------------------------------------
@router.command("mytasks")
async def my_tasks(ctx: Context) -> None:
    await roster.require_volunteer(ctx.session, person=ctx.person)
    held = await roster.list_for_volunteer(ctx.session, person_id=ctx.person.id)
    if not held:
        ctx.say("volunteer.no_tasks")
        return
    lines = [ctx.t("volunteer.my_tasks")]
    rows = []
    for task in held:
        text = await _task_text(ctx, task)
        lines.append(text)
        rows.append([actions.OPEN_TASK.button(text.splitlines()[0][:40], task.id)])
    ctx.reply("\n".join(lines), buttons=rows)


@router.command("myhours")
async def my_hours(ctx: Context) -> None:
    await roster.require_volunteer(ctx.session, person=ctx.person)
    summary = await roster.service_summary(ctx.session, person_id=ctx.person.id)
    average = f"{summary.average_rating:.1f}" if summary.average_rating is not None else ""
    ctx.say(
        "volunteer.my_hours" if average else "look.volunteer.my_hours_unrated",
        tasks=summary.tasks,
        hours=f"{summary.hours:g}",
        rated=summary.rated,
        average=average,
    )


@router.command("team")
async def team(ctx: Context) -> None:
    profile = await roster.require_leader(ctx.session, person=ctx.person)
    start, end, label = stats.period_bounds(None, now=ctx.now, tz=ctx.settings.tz)
    summary = await roster.team_summary(
        ctx.session, team_id=profile.team_id, since=start, until=end
    )
    members = "\n".join(
        f"· {person.display_name or person.id} ({person.id})" + ("★" if member.is_leader else "")
        for person, member in summary.members
    )
    ctx.say(
        "volunteer.team",
        members=members or ctx.t("next_steps.team.none"),
        count=len(summary.members),
        open=len(summary.open_tasks),
        hours=f"{summary.hours_this_period:g}",
        period=label,
    )
