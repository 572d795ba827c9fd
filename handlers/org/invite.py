"""Joining through an invite link: `/start inv_<token>` grants the invite's role.

```mermaid
stateDiagram-v2
    [*] --> granted: /start inv_<token> (valid, unused, not expired)
    granted --> [*]: staff, steward, liaisons, admin: told their role and next step
    granted --> skills: volunteer: registration (handlers/volunteer.py)
```
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.router import Router
from bot.services.cases import actions as cases_actions
from bot.services.org import invites
from handlers.volunteers import volunteer
from models import ReportingUnit, Role, VolunteerProfile

router = Router()


async def redeem(ctx: Context, *, token: str) -> None:
    """Use the invite token from a deep link."""
    if ctx.person.language is None:
        ctx.person.language = ctx.locale  # before the grant: their command menu speaks it
    invite, unit = await invites.redeem_invite(
        ctx.session, token=token, person=ctx.person, now=ctx.now, settings=ctx.settings
    )
    role = ctx.t(f"admin.role.{invite.role.value}")
    unit_name = unit.name(ctx.locale)
    if invite.role == Role.unit_liaison:  # acting for a reporting unit, through its community
        reporting = await ctx.session.get(ReportingUnit, invite.cobuild_unit_id or 0)
        unit_name = reporting.name(ctx.locale) if reporting else unit_name
    welcome = ctx.t("admin.invite.welcome", role=role, unit=unit_name)
    if invite.role != Role.volunteer:
        ctx.goto("")
        # What to do next, and for those who work requests, one tap to their queue.
        rows = [[cases_actions.QUEUE.button(ctx.t("admin.invite.to_queue"), 0)]]
        ctx.reply(
            welcome + "\n" + ctx.t(f"admin.invite.next.{invite.role.value}"),
            buttons=rows if invite.role in (Role.grid_staff, Role.steward) else [],
        )
        return
    ctx.reply(welcome)
    profile = await ctx.session.get(VolunteerProfile, ctx.person.id)
    if profile is None:
        profile = VolunteerProfile(
            person_id=ctx.person.id, team_id=unit.id, skills=[], availability={}
        )
        ctx.session.add(profile)
    profile.team_id = unit.id
    profile.is_leader = profile.is_leader or invite.leader
    await ctx.session.flush()
    await volunteer.ask_skills(ctx)
