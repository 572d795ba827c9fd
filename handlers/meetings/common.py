"""Helpers shared by the convening steps (handlers/meeting.py, handlers/meeting_details.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from bot.core.context import Context
from bot.exceptions import NotAllowed
from bot.services.meetings import audience, convene
from models import ScopeKind

_WHEN = re.compile(
    r"^\s*(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[ T]?\s*"
    r"(\d{1,2})\s*[:：点时]\s*(\d{2})?\s*分?\s*$"
)


def parse_when(text: str, *, now: datetime, tz: tzinfo) -> datetime | None:
    """A typed local date and time ("11-28 19:00", "2026-11-28 19:00", "11月28日19点")."""
    match = _WHEN.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    local_now = now.astimezone(tz)
    try:
        moment = datetime(
            int(year) if year else local_now.year,
            int(month),
            int(day),
            int(hour),
            int(minute or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    if not year and moment < local_now - timedelta(days=1):
        moment = moment.replace(year=moment.year + 1)
    return moment


async def check_scope(
    ctx: Context,
    kind: ScopeKind,
    *,
    building_id: int | None = None,
    compound_id: int | None = None,
    units: list[str] | None = None,
) -> audience.Scope:
    """The scope named by ids, if the person may convene for it (else NotAllowed)."""
    found = await audience.load_scope(
        ctx.session, kind=kind, building_id=building_id, compound_id=compound_id, units=units or []
    )
    if not await convene.can_convene(ctx.session, person=ctx.person, scope_=found):
        raise NotAllowed("core.not_allowed")
    return found
