"""The community's list of needs (需求清单) in conversation: `/needs` (admins see the clusters
of residents' requests, each with a Raise button, and the list; an admin of several communities
picks one from buttons, paged; residents see the list of their community with a Support button
per need), `/need [community code] <title>` (an admin publishes a typed need). No conversation
state; every press re-checks rights.
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed
from bot.messages import Button
from bot.services.cases import actions as cases_actions
from bot.services.cobuild import actions, members, needs, rights
from handlers.cobuild import common
from models import OrgUnit

router = Router()
COMMUNITIES_SHOWN = 8  # communities per page when an admin of several picks one


def _need_lines(ctx: Context, listed: list[tuple[needs.Need, int]]) -> str:
    return "\n".join(
        ctx.t("cobuild.need.line", id=need.id, title=need.title, supports=count)
        for need, count in listed
    )


async def _show_admin(ctx: Context, community: OrgUnit) -> None:
    found = await needs.clusters(ctx.session, community_id=community.id)
    lines, rows = [], []
    for cluster in found[:8]:
        label = ctx.t(
            "cobuild.need.cluster",
            compound=cluster.compound.name(ctx.locale),
            category=cluster.category.name(ctx.locale),
            requests=len(cluster.request_ids),
            voices=cluster.voices,
        )
        lines.append(label)
        data = actions.RAISE.data(cluster.request_ids[0])
        rows.append([Button(ctx.t("cobuild.button.raise", label=label)[:60], data)])
    listed = await needs.list_needs(ctx.session, community_id=community.id)
    ctx.reply(
        ctx.t(
            "cobuild.need.admin_view",
            community=community.name(ctx.locale),
            clusters="\n".join(lines) or ctx.t("look.needs.no_clusters"),
            needs=_need_lines(ctx, listed) or ctx.t("look.needs.none_published"),
        ),
        buttons=rows,
    )


async def show_needs_to_resident(ctx: Context, community: OrgUnit) -> None:
    """The community's open needs, most supported first, each with a Support button."""
    listed = await needs.list_needs(ctx.session, community_id=community.id)
    rows = [
        [actions.SUPPORT.button(ctx.t("cobuild.button.support", id=need.id), need.id)]
        for need, _count in listed[:10]
    ]
    if not listed:  # nothing to support yet: a problem of theirs is how a need begins
        rows = [[cases_actions.NEW_REQUEST.button(ctx.t("menu.new_request"))]]
    text = ctx.t(
        "cobuild.need.resident_view",
        community=community.name(ctx.locale),
        needs=_need_lines(ctx, listed) or ctx.t("cobuild.need.none"),
    )
    ctx.reply(text, buttons=rows)


def _offer_communities(ctx: Context, communities: list[OrgUnit], page: int) -> None:
    """One page of the communities an admin administers, each a button opening its needs."""
    pages = max(1, -(-len(communities) // COMMUNITIES_SHOWN))
    page = min(max(page, 0), pages - 1)
    shown = communities[page * COMMUNITIES_SHOWN : (page + 1) * COMMUNITIES_SHOWN]
    rows = [[actions.NEEDS_OF.button(c.name(ctx.locale), c.id)] for c in shown]
    nav = []
    if page > 0:
        nav.append(actions.NEEDS_PAGE.button(ctx.t("staff.button.previous"), page - 1))
    if page + 1 < pages:
        nav.append(actions.NEEDS_PAGE.button(ctx.t("staff.button.next"), page + 1))
    if nav:
        rows.append(nav)
    key = "next_steps.needs.pick_paged" if pages > 1 else "next_steps.needs.pick"
    ctx.reply(ctx.t(key, count=len(communities), page=page + 1, pages=pages), buttons=rows)


@router.command("needs")
async def show_needs(ctx: Context) -> None:
    """Admins: the clusters and the list; residents: their community's list to support."""
    community, _rest, administered = await common.admin_community(ctx)
    if community is not None:
        await _show_admin(ctx, community)
        return
    if administered:
        _offer_communities(ctx, administered, 0)
        return
    await show_needs_to_resident(ctx, await members.home_community(ctx.session, person=ctx.person))


@router.button(actions.NEEDS_OF)
async def needs_of(ctx: Context, data: ButtonData) -> None:
    """An admin picked one of their communities: its clusters and list (rights re-checked)."""
    administered = await rights.administered_communities(ctx.session, person=ctx.person)
    community = next((c for c in administered if c.id == data.int_arg()), None)
    if community is None:
        raise NotAllowed("core.not_allowed")
    await _show_admin(ctx, community)


@router.button(actions.NEEDS_PAGE)
async def needs_page(ctx: Context, data: ButtonData) -> None:
    """Another page of an admin's communities."""
    administered = await rights.administered_communities(ctx.session, person=ctx.person)
    if not administered:
        raise NotAllowed("core.not_allowed")
    _offer_communities(ctx, administered, data.int_arg() or 0)


@router.command("need")
async def publish_need(ctx: Context) -> None:
    """`/need [community code] <title>`: an admin publishes a typed need."""
    community, title, administered = await common.admin_community(ctx)
    if community is None or not title.strip():
        ctx.say("cobuild.need.usage", communities=common.codes(ctx, administered))
        return
    need = await needs.publish(
        ctx.session, community=community, title=title, actor=ctx.person, now=ctx.now
    )
    ctx.say("cobuild.need.published", id=need.id, title=need.title)


@router.button(actions.RAISE)
async def raise_need(ctx: Context, data: ButtonData) -> None:
    """An admin raises a need from a cluster of requests (the request names the cluster)."""
    need, linked = await needs.raise_from_request(
        ctx.session,
        request_id=data.int_arg() or 0,
        actor=ctx.person,
        now=ctx.now,
        locale=ctx.locale,
    )
    ctx.say("cobuild.need.raised", id=need.id, title=need.title, requests=linked)


@router.button(actions.SUPPORT)
async def support_need(ctx: Context, data: ButtonData) -> None:
    """A resident in scope supports a need for their household."""
    need, counted = await needs.support(
        ctx.session, need_id=data.int_arg() or 0, person=ctx.person, now=ctx.now
    )
    key = "cobuild.need.supported" if counted else "cobuild.need.household_already"
    ctx.say(key, id=need.id, title=need.title)
