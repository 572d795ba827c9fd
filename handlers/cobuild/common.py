"""What the dual-reporting flows share: which community an admin's command is about."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.context import Context
from bot.exceptions import NotAllowed
from bot.services.cobuild import rights
from models import OrgUnit, UnitKind


async def admin_community(ctx: Context) -> tuple[OrgUnit | None, str, list[OrgUnit]]:
    """The community an admin's command names by code as its first word, or the only one they
        administer; with the rest of the arguments and every community they administer. Naming a
    community they do not administer is refused."""
    args = ctx.incoming.args.strip()
    words = args.split(maxsplit=1)
    communities = await rights.administered_communities(ctx.session, person=ctx.person)
    chosen = next((c for c in communities if words and c.code == words[0]), None)
    if chosen is not None:
        return chosen, words[1] if len(words) > 1 else "", communities
    if words and await _is_community(ctx, words[0]):  # someone else's community: refused
        raise NotAllowed("core.not_allowed")
    return (communities[0] if len(communities) == 1 else None), args, communities


async def _is_community(ctx: Context, code: str) -> bool:
    query = select(OrgUnit.id).where(OrgUnit.code == code, OrgUnit.kind == UnitKind.community)
    return (await ctx.session.execute(query)).first() is not None


def codes(ctx: Context, communities: list[OrgUnit]) -> str:
    """The communities' codes, for a usage message ("none" in words when there are none)."""
    return ", ".join(c.code for c in communities) or ctx.t("next_steps.none")
