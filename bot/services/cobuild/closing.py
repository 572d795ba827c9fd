"""A liaison completes a project: the need is done, the requests it was raised from are resolved
by the system with the completion note (each reporter judges theirs as usual), and the
households in scope are asked to grade the project (`grades`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition
from bot.services.cases import transitions, workflow
from bot.services.cases.transitions import Action
from bot.services.cobuild import grades, needs, projects
from models import OPEN_STATUSES, Person, RequestStatus
from models.cobuild import Need, NeedStatus, Project, ProjectStatus


async def resolve_linked(
    session: AsyncSession, *, need: Need, note: str, now: datetime, settings: Settings
) -> int:
    """Resolve the need's open linked requests with `note` (accepting those still waiting for
    their owner first); returns how many were resolved."""
    resolved = 0
    for request in await needs.linked_requests(session, need_id=need.id):
        if request.status not in OPEN_STATUSES:
            continue
        if request.status in transitions.PENDING:
            await workflow.transition(
                session,
                request=request,
                action=Action.accept,
                actor=None,
                now=now,
                settings=settings,
            )
        if request.status == RequestStatus.accepted or request.status in (
            RequestStatus.in_progress,
            RequestStatus.waiting_for_resident,
        ):
            await workflow.transition(
                session,
                request=request,
                action=Action.resolve,
                actor=None,
                now=now,
                note=note,
                settings=settings,
            )
            resolved += 1
    return resolved


async def complete(
    session: AsyncSession,
    *,
    project_id: int,
    note: str,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> tuple[Project, int]:
    """A liaison completes the project: the need is done, the linked requests are resolved
    with the note (their reporters judge them as usual) and the households in scope are asked
    to grade it until `cobuild.grading_days` pass. Returns it and the requests resolved."""
    project, need = await projects.require_working(session, project_id=project_id, actor=actor)
    note = note.strip()[:2000]
    if not note:
        raise InvalidTransition("cobuild.complete.usage")
    project.status, project.completed_at = ProjectStatus.done, now
    project.completion_note = note
    project.grading_closes_at = now + timedelta(days=settings.cobuild.grading_days)
    need.status = NeedStatus.done
    await session.flush()
    resolved = await resolve_linked(session, need=need, note=note, now=now, settings=settings)
    await grades.ask_residents(session, project=project, need=need, settings=settings)
    return project, resolved
