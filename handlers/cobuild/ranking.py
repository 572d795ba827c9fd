"""`/ranking [community code]`: admins see the reporting units ranked, of one community they
administer (its paired units, its projects) or of the district; the weights are in config
(`cobuild.weight_*`: residents' grade, completion on time, members' hours)."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.services.cobuild import grades
from handlers.cobuild import common

router = Router()


def _share(ctx: Context, value: float | None) -> str:
    return ctx.t("look.rate.none") if value is None else f"{value:.0%}"


@router.command("ranking")
async def ranking(ctx: Context) -> None:
    """The units ranked, best first, with what their score is made of."""
    community, rest, administered = await common.admin_community(ctx)
    if not administered:
        raise NotAllowed("core.not_allowed")
    if not rest.strip() and len(administered) > 1:
        community = None  # no community named: the district's ranking
    standings = await grades.ranking(
        ctx.session,
        now=ctx.now,
        settings=ctx.settings,
        community_id=community.id if community else None,
    )
    lines = [
        ctx.t(
            "cobuild.ranking.line",
            place=place,
            unit=s.unit.name(ctx.locale),
            score=f"{s.score:.2f}",
            grade=ctx.t("next_steps.none_yet") if s.grade is None else f"{s.grade:.1f}",
            on_time=_share(ctx, s.on_time),
            hours=f"{s.hours:g}",
        )
        for place, s in enumerate(standings, 1)
    ]
    where = community.name(ctx.locale) if community else ctx.t("cobuild.ranking.district")
    ctx.say(
        "cobuild.ranking.title",
        where=where,
        lines="\n".join(lines) or ctx.t("next_steps.ranking.none"),
    )
