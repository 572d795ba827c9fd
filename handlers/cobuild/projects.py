"""The units answer and the residents grade, in conversation: after `/pledge` (a paired
unit's liaison offers a project for a need: `pledging`), the community admin's Confirm /
Decline, `/progress` (text, or a photo with a caption; without a project, the unit's projects
in progress as buttons), `/complete`, and the residents' 1-5 grade with an optional comment.
Every press and command re-checks rights in the database.

```mermaid
stateDiagram-v2
    [*] --> pledged: /pledge (handlers/cobuild/pledging.py)
    pledged --> in_progress: community admin's Confirm
    pledged --> declined: Decline
    in_progress --> in_progress: /progress, or /progress then a project (cbprog)
    in_progress --> done: /complete <project> note (linked requests resolved)
    done --> graded: a household presses 1-5, then may comment (cobuild_grade_comment)
```
"""

from __future__ import annotations

import re

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import InvalidTransition, NotAllowed
from bot.messages import Button
from bot.services.cobuild import actions, closing, grades, projects, rights
from bot.services.org import actions as org_actions

router = Router()

S_PROGRESS = "cobuild_progress"
S_COMMENT = "cobuild_grade_comment"
_LEAD = re.compile(r"^\s*#?(\d{1,9})(?:\s+(.*))?$", re.S)


def _lead_id(ctx: Context, usage: str) -> tuple[int, str]:
    """The id the arguments start with, and the rest; a refusal with the usage otherwise."""
    match = _LEAD.match(ctx.incoming.args)
    if match is None:
        raise InvalidTransition(usage)
    return int(match.group(1)), (match.group(2) or "").strip()


@router.button(actions.PROJECT_CONFIRM, actions.PROJECT_DECLINE)
async def decide_project(ctx: Context, data: ButtonData) -> None:
    """The community's admin confirms or declines a pledged project."""
    project, changed = await projects.decide(
        ctx.session,
        project_id=data.int_arg() or 0,
        confirm=data.action == actions.PROJECT_CONFIRM.wire,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    key = f"cobuild.project.decided.{project.status}" if changed else "cobuild.already"
    ctx.say(key, id=project.id)


async def _working_rows(ctx: Context) -> list[list[Button]]:
    """A button per project in progress of the person's units, to report progress on it."""
    return [
        [actions.PROGRESS_ON.button(f"#{project.id} {need.title}"[:60], project.id)]
        for project, need in await projects.list_working(ctx.session, actor=ctx.person)
    ]


@router.command("progress")
async def progress(ctx: Context) -> None:
    """`/progress <project> [text]`: report now, or wait for a text or a photo; no project:
    the unit's projects in progress to choose from."""
    if not ctx.incoming.args.strip():
        await _offer_working(ctx)
        return
    project_id, text = _lead_id(ctx, "cobuild.progress.usage")
    if text:
        await _record_progress(ctx, project_id, text, None)
        return
    await _ask_progress(ctx, project_id)


async def _offer_working(ctx: Context) -> None:
    if not await rights.liaison_units(ctx.session, person=ctx.person):
        raise NotAllowed("core.not_allowed")
    rows = await _working_rows(ctx)
    key = "next_steps.progress.pick" if rows else "next_steps.progress.none"
    ctx.reply(ctx.t(key), buttons=rows)


async def _ask_progress(ctx: Context, project_id: int) -> None:
    await projects.require_working(ctx.session, project_id=project_id, actor=ctx.person)
    ctx.goto(S_PROGRESS, project_id=project_id)
    ctx.say("cobuild.progress.send")


@router.button(actions.PROGRESS_ON)
async def progress_on(ctx: Context, data: ButtonData) -> None:
    """A project picked to report progress on (the liaison's right re-checked)."""
    await _ask_progress(ctx, data.int_arg() or 0)


@router.state(S_PROGRESS)
async def progress_input(ctx: Context) -> None:
    """The progress report itself: a text, or a photo with or without a caption."""
    incoming = ctx.incoming
    if incoming.kind not in ("text", "photo"):
        ctx.say("cobuild.progress.send")
        return
    photo = (
        max(incoming.photos, key=lambda p: p.file_size or 0).file_id if incoming.photos else None
    )
    project_id = int(ctx.data.get("project_id", 0))
    ctx.goto("")
    await _record_progress(ctx, project_id, incoming.text, photo)


async def _record_progress(ctx: Context, project_id: int, text: str, photo: str | None) -> None:
    _update, reached = await projects.report_progress(
        ctx.session,
        project_id=project_id,
        text=text,
        photo_file_id=photo,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.say("cobuild.progress.sent", count=reached)


@router.command("complete")
async def complete(ctx: Context) -> None:
    """`/complete <project> note`: done; linked requests resolved, residents asked to grade."""
    project_id, note = _lead_id(ctx, "cobuild.complete.usage")
    project, resolved = await closing.complete(
        ctx.session,
        project_id=project_id,
        note=note,
        actor=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.say("cobuild.complete.done", id=project.id, requests=resolved)


@router.button(actions.GRADE)
async def grade(ctx: Context, data: ButtonData) -> None:
    """A household's 1-5 for a completed project; then an optional comment."""
    row, project = await grades.grade(
        ctx.session,
        project_id=data.int_arg() or 0,
        score=data.int_arg(1) or 0,
        person=ctx.person,
        now=ctx.now,
    )
    if row is None:
        ctx.say("cobuild.grade.household_already", id=project.id)
        return
    ctx.goto(S_COMMENT, grade_id=row.id)
    skip = [[org_actions.MENU.button(ctx.t("cobuild.button.skip"))]]
    ctx.reply(ctx.t("cobuild.grade.thanks", score=row.score), buttons=skip)


@router.state(S_COMMENT)
async def grade_comment(ctx: Context) -> None:
    """The comment on the grade just given."""
    if ctx.incoming.kind != "text" or not ctx.incoming.text.strip():
        ctx.say("cobuild.grade.comment_prompt")
        return
    grade_id = int(ctx.data.get("grade_id", 0))
    ctx.goto("")
    await grades.add_comment(
        ctx.session, grade_id=grade_id, text=ctx.incoming.text, person=ctx.person, now=ctx.now
    )
    ctx.say("cobuild.grade.commented")
