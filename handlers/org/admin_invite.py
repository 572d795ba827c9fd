"""Admins invite people to a role: `/invite` asks for the role and the unit with buttons (or
takes `/invite <role> <unit code> [leader]` typed), and answers with links that open the bot
or the web chat, and a QR code.

```mermaid
stateDiagram-v2
    [*] --> role: /invite (an admin somewhere)
    [*] --> made: /invite role unit [leader]
    [*] --> made: /invite unit_liaison <reporting unit> [community]
    role --> pair: a reporting unit's liaison (ainr unit_liaison)
    pair --> made: a unit and the paired community (cbinvl)
    role --> unit: a role (ainr), up to 12 units offered
    role --> search: a role, more units than buttons
    search --> unit: part of a name typed
    unit --> leader: a volunteer team (ainv)
    unit --> made: any other unit (ainc)
    leader --> made: member or leader (ainc)
```
Every press re-checks that the person administers the unit (`invites.create_invite`).
"""

from __future__ import annotations

from bot.buttons import ButtonData
from bot.core.context import Context
from bot.core.router import Router
from bot.exceptions import NotAllowed, NotFound
from bot.services.cobuild import liaison_invites
from bot.services.org import actions, invites, rights
from handlers.cobuild import liaisons
from handlers.common import cancel_row
from handlers.org import invite_reply
from handlers.org.admin import admin_unit
from models import OrgUnit, Role

router = Router()

S_SEARCH = "am.inv.search"
PICK_LIMIT = 12  # units offered as buttons; past that, the admin types part of a name


@router.command("invite")
async def invite(ctx: Context) -> None:
    parts = ctx.incoming.args.split()
    if not parts:
        await admin_unit(ctx, None)  # an admin somewhere, or refused
        ctx.goto("")
        roles = list(rights.GRANTABLE)
        if await liaison_invites.invitable(ctx.session, person=ctx.person):
            roles.append(Role.unit_liaison)
        rows = [
            [actions.INVITE_ROLE.button(ctx.t(f"admin.role.{role.value}"), role.value)]
            for role in roles
        ]
        ctx.reply(ctx.t("admin.invite.pick_role"), buttons=[*rows, cancel_row(ctx)])
        return
    if parts[0] == Role.unit_liaison.value and len(parts) in (2, 3):
        await liaisons.invite_typed(ctx, parts[1], parts[2] if len(parts) == 3 else None)
        return
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "leader"):
        await admin_unit(ctx, None)
        ctx.say("admin.usage.invite")
        return
    role = rights.parse_role(parts[0])
    unit = await rights.get_unit_by_code(ctx.session, code=parts[1])
    await _make(ctx, role, unit, leader=len(parts) == 3)


@router.button(actions.INVITE_ROLE)
async def role_picked(ctx: Context, data: ButtonData) -> None:
    """The role to invite to was picked."""
    if data.args[:1] == (Role.unit_liaison.value,):
        await liaisons.offer_units(ctx)
        return
    role = _role(data)
    units = await rights.list_invitable_units(ctx.session, person_id=ctx.person.id, role=role)
    role_name = ctx.t(f"admin.role.{role.value}")
    if not units:
        raise NotAllowed("admin.invite.no_units", role=role_name)
    if len(units) > PICK_LIMIT:
        ctx.goto(S_SEARCH, role=role.value)
        ctx.reply(
            ctx.t("admin.invite.type_unit", role=role_name, n=len(units)),
            buttons=[cancel_row(ctx)],
        )
        return
    _offer(ctx, role, units)


@router.state(S_SEARCH)
async def name_typed(ctx: Context) -> None:
    text = ctx.incoming.text.strip().lower() if ctx.incoming.kind == "text" else ""
    role = rights.parse_role(str(ctx.data.get("role", "")))
    units = [
        unit
        for unit in await rights.list_invitable_units(
            ctx.session, person_id=ctx.person.id, role=role
        )
        if text and (text in unit.name_zh.lower() or text in (unit.name_en or "").lower())
    ]
    if not units:
        ctx.reply(ctx.t("admin.invite.no_match", text=text[:40]), buttons=[cancel_row(ctx)])
        return
    ctx.goto("")
    _offer(ctx, role, units[:PICK_LIMIT])


def _offer(ctx: Context, role: Role, units: list[OrgUnit]) -> None:
    action = actions.INVITE_TEAM if role == Role.volunteer else actions.INVITE_CREATE
    rows = [[action.button(u.name(ctx.locale), role.value, u.id, 0)] for u in units]
    role_name = ctx.t(f"admin.role.{role.value}")
    ctx.reply(ctx.t("admin.invite.pick_unit", role=role_name), buttons=rows)


@router.button(actions.INVITE_TEAM)
async def team_picked(ctx: Context, data: ButtonData) -> None:
    """A team was picked: a member or the team's leader?"""
    unit = await _unit(ctx, data)
    await rights.require_admin(ctx.session, person_id=ctx.person.id, unit=unit)
    ctx.reply(
        ctx.t("admin.invite.leader_question", unit=unit.name(ctx.locale)),
        buttons=[
            [
                actions.INVITE_CREATE.button(
                    ctx.t("admin.invite.as_member"), "volunteer", unit.id, 0
                ),
                actions.INVITE_CREATE.button(
                    ctx.t("admin.invite.as_leader"), "volunteer", unit.id, 1
                ),
            ]
        ],
    )


@router.button(actions.INVITE_CREATE)
async def create(ctx: Context, data: ButtonData) -> None:
    """The invite for a role in a unit, as a leader or not."""
    await _make(ctx, _role(data), await _unit(ctx, data), leader=data.args[2:3] == ("1",))


async def _make(ctx: Context, role: Role, unit: OrgUnit, *, leader: bool) -> None:
    """Create the invite (rights re-checked) and send its links and QR code."""
    _invite, token = await invites.create_invite(
        ctx.session,
        actor=ctx.person,
        role=role,
        unit=unit,
        leader=leader,
        now=ctx.now,
        settings=ctx.settings,
    )
    ctx.goto("")
    await invite_reply.send_links(
        ctx, token, ctx.t(f"admin.role.{role.value}"), unit.name(ctx.locale)
    )


def _role(data: ButtonData) -> Role:
    role = data.args[0] if data.args else ""
    if role not in {r.value for r in rights.GRANTABLE}:
        raise NotFound("core.stale_button")
    return Role(role)


async def _unit(ctx: Context, data: ButtonData) -> OrgUnit:
    unit = await ctx.session.get(OrgUnit, data.int_arg(1) or 0)
    if unit is None:
        raise NotFound("core.stale_button")
    return unit
