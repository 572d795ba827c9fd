"""What the dual-reporting flows share: which community an admin's command is about."""

from __future__ import annotations

from bot.core.context import Context
from bot.services.cobuild import rights
from models import OrgUnit


async def admin_community(ctx: Context) -> tuple[OrgUnit | None, str, list[OrgUnit]]:
    """The community an admin's command names by code as its first word, or the only one they
    administer; with the rest of the arguments and every community they administer."""
    args = ctx.incoming.args.strip()
    words = args.split(maxsplit=1)
    communities = await rights.administered_communities(ctx.session, person=ctx.person)
    chosen = next((c for c in communities if words and c.code == words[0]), None)
    if chosen is not None:
        return chosen, words[1] if len(words) > 1 else "", communities
    return (communities[0] if len(communities) == 1 else None), args, communities


def codes(communities: list[OrgUnit]) -> str:
    """The communities' codes, for a usage message."""
    return ", ".join(c.code for c in communities) or "-"
