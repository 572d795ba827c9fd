"""Inviting a reporting unit's liaison, from `/invite` (handlers/org/admin_invite.py): the
admin picks one of the units paired with a community they administer (one button per unit and
community), or types `/invite unit_liaison <unit code> [community code]`. Every press re-checks
the admin's rights on the community and the pairing (`liaison_invites.create`)."""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed, NotFound
from bot.services.cobuild import actions, liaison_invites
from handlers.org import invite_reply
from models import Role
from models.cobuild import ReportingUnit

router = Router()
PICK_LIMIT = 12


async def offer_units(ctx: Context) -> None:
    """The units (with their paired community) the admin may invite a liaison for."""
    pairs = await liaison_invites.invitable(ctx.session, person=ctx.person)
    if not pairs:
        raise NotAllowed("cobuild2.invite.no_units")
    rows = [
        [
            actions.LIAISON_INVITE.button(
                ctx.t(
                    "cobuild2.invite.pair",
                    unit=unit.name(ctx.locale),
                    community=community.name(ctx.locale),
                )[:60],
                unit.id,
                community.id,
            )
        ]
        for unit, community in pairs[:PICK_LIMIT]
    ]
    ctx.reply(ctx.t("cobuild2.invite.pick_unit"), buttons=rows)


async def _make(ctx: Context, unit: ReportingUnit, community_code: str | None) -> None:
    _invite, token, community = await liaison_invites.create(
        ctx.session,
        actor=ctx.person,
        unit=unit,
        community_code=community_code,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    role = ctx.t(f"admin.role.{Role.unit_liaison.value}")
    where = ctx.t(
        "cobuild2.invite.pair", unit=unit.name(ctx.locale), community=community.name(ctx.locale)
    )
    await invite_reply.send_links(ctx, token, role, where)


async def invite_typed(ctx: Context, unit_code: str, community_code: str | None) -> None:
    """`/invite unit_liaison <unit code> [community code]`."""
    unit = await liaison_invites.unit_by_code(ctx.session, code=unit_code)
    await _make(ctx, unit, community_code)


@router.button(actions.LIAISON_INVITE)
async def pair_picked(ctx: Context, data: ButtonData) -> None:
    """A unit and the community it is paired with: the invite."""
    unit = await ctx.session.get(ReportingUnit, data.int_arg() or 0)
    community_id = data.int_arg(1) or 0
    pairs = await liaison_invites.invitable(ctx.session, person=ctx.person)
    chosen = next(
        (c for u, c in pairs if unit is not None and u.id == unit.id and c.id == community_id),
        None,
    )
    if unit is None:
        raise NotFound("core.stale_button")
    if chosen is None:
        raise NotAllowed("core.not_allowed")
    await _make(ctx, unit, chosen.code)
