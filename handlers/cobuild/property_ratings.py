"""Property service ratings in conversation: `/propertypoll [community code]` (an admin asks
the community's residents to rate their property service this quarter), the residents' 1-5,
and `/property [2026Q4]` (admins: the property services ranked)."""

from __future__ import annotations

import re

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.services.cobuild import actions, property_ratings, rights
from handlers.cobuild import common

router = Router()
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")


@router.command("propertypoll")
async def ask_ratings(ctx: Context) -> None:
    """Ask the residents of a community to rate their property service this quarter."""
    community, _rest, administered = await common.admin_community(ctx)
    if community is None:
        ctx.say("cobuild.property.usage", communities=common.codes(administered))
        return
    asked = await property_ratings.ask(
        ctx.session, community=community, actor=ctx.person, now=ctx.now, settings=ctx.settings
    )
    ctx.say("cobuild.property.asked", compounds=asked)


@router.button(actions.PROPERTY_RATE)
async def rate(ctx: Context, data: ButtonData) -> None:
    """A resident's 1-5 for their compound's property service."""
    quarter, counted = await property_ratings.rate(
        ctx.session,
        compound_id=data.int_arg() or 0,
        score=data.int_arg(1) or 0,
        person=ctx.person,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.say("cobuild.property.rated" if counted else "cobuild.property.already", quarter=quarter)


@router.command("property")
async def show_ranking(ctx: Context) -> None:
    """Admins: the property services ranked by residents' ratings of a quarter."""
    if not await rights.administered_communities(ctx.session, person=ctx.person):
        raise NotAllowed("core.not_allowed")
    wanted = ctx.incoming.args.strip().upper()
    quarter = (
        wanted if _QUARTER.match(wanted) else property_ratings.quarter_of(ctx.now, ctx.settings)
    )
    scores = await property_ratings.ranking(ctx.session, quarter=quarter, locale=ctx.locale)
    lines = [
        ctx.t(
            "cobuild.property.line",
            place=i,
            name=s.name,
            average=s.average,
            households=s.households,
        )
        for i, s in enumerate(scores, 1)
    ]
    ctx.say("cobuild.property.ranking", quarter=quarter, lines="\n".join(lines) or "-")
