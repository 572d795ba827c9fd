"""The co-building board residents see (`/board`, or 共建 in the main menu): their community's
projects (planned, in progress, done with the residents' grade once grading has closed) and
its open needs, which they may support."""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.services.cobuild import actions, grades, members, projects
from handlers.cobuild.needs import show_needs_to_resident

router = Router()


async def show_board(ctx: Context) -> None:
    """The board of the person's home community."""
    community = await members.home_community(ctx.session, person=ctx.person)
    lines = []
    for project, need, unit in await projects.list_for_community(
        ctx.session, community_id=community.id
    ):
        result = await grades.result(ctx.session, project=project, now=ctx.now)
        graded = (
            ctx.t("cobuild.board.grade", average=result.average, households=result.households)
            if result
            else ""
        )
        lines.append(
            ctx.t(
                "cobuild.board.project",
                status=ctx.t(f"cobuild.board.status.{project.status}"),
                unit=unit.name(ctx.locale),
                need=need.title,
                plan=project.plan,
                grade=graded,
            )
        )
    ctx.say(
        "cobuild.board.projects",
        community=community.name(ctx.locale),
        projects="\n".join(lines) or ctx.t("cobuild.board.none"),
    )
    await show_needs_to_resident(ctx, community)


@router.command("board")
async def board(ctx: Context) -> None:
    await show_board(ctx)


@router.button(actions.BOARD)
async def board_button(ctx: Context, _data: ButtonData) -> None:
    await show_board(ctx)
