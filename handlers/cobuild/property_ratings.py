"""Property service ratings in conversation: the quarter's poll opens by itself (the
`property_polls` sweep) or earlier with `/propertypoll [community code]` (an admin), the
residents' 1-5 while it is open, and `/property [2026Q4]` (admins: the services ranked)."""

from __future__ import annotations

import re

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.services.cobuild import actions, property_polls, property_ratings, rights
from handlers.cobuild import common

router = Router()
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")


@router.command("propertypoll")
async def ask_ratings(ctx: Context) -> None:
    """Ask the residents of a community to rate their property service this quarter."""
    community, _rest, administered = await common.admin_community(ctx)
    if community is None:
        ctx.say("cobuild.property.usage", communities=common.codes(ctx, administered))
        return
    await rights.require_community_admin(ctx.session, person=ctx.person, community_id=community.id)
    poll, asked = await property_polls.open_poll(
        ctx.session, community=community, actor=ctx.person, now=ctx.now, settings=ctx.settings
    )
    if poll is None:
        quarter = property_ratings.quarter_of(ctx.now, ctx.settings)
        ctx.say("cobuild2.property.open_already", quarter=quarter)
        return
    ctx.say("cobuild.property.asked", compounds=asked)


@router.button(actions.PROPERTY_VOTE, actions.PROPERTY_RATE)
async def rate(ctx: Context, data: ButtonData) -> None:
    """A resident's 1-5 for their compound's property service, in the open poll."""
    rating = (
        property_ratings.rate(
            ctx.session,
            poll_id=data.int_arg() or 0,
            score=data.int_arg(1) or 0,
            person=ctx.person,
            now=ctx.now,
        )
        if data.action == actions.PROPERTY_VOTE.wire
        else property_ratings.rate_compound(
            ctx.session,
            compound_id=data.int_arg() or 0,
            score=data.int_arg(1) or 0,
            person=ctx.person,
            now=ctx.now,
        )
    )
    quarter, counted = await rating
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
    ctx.say(
        "cobuild.property.ranking",
        quarter=quarter,
        lines="\n".join(lines) or ctx.t("next_steps.property.none"),
    )
