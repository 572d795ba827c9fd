"""The distribution column past one PostgreSQL (docs/scaling.md), filled on insert.

`community_id` names the community a row belongs to, 0 for none: a request's is the community
of its compound; its events' is the request's; an outbox row's is the community of the
recipient's home compound, so one chat's rows stay together and its order can hold on a
sharded database. The value is set in Python before the INSERT (a sharded database routes an
INSERT by the value it carries, not by a subquery), from objects the session already holds
where it can, else with one query per flush for all the rows that need it. Nothing reads the
column yet but the outbox claim when it is given communities (bot.outbox.store.claim).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models.delivery import OutboxMessage
from models.person import Person
from models.place import Compound
from models.request import Request, RequestEvent

NO_COMMUNITY = 0


def _held(session: Session, model: type[Any], ident: int | None) -> Any:
    """The object with this primary key if the session holds it (no SQL)."""
    if ident is None:
        return None
    return session.identity_map.get(identity_key(model, ident))


def _compound_communities(session: Session, ids: Iterable[int | None]) -> dict[int, int]:
    wanted = {i for i in ids if i is not None}
    found = {i: c.community_id for i in wanted if (c := _held(session, Compound, i)) is not None}
    missing = wanted - found.keys()
    if missing:
        rows = session.execute(
            select(Compound.id, Compound.community_id).where(Compound.id.in_(missing))
        )
        found.update({int(i): int(c) for i, c in rows})
    return found


def _request_communities(session: Session, ids: Iterable[int | None]) -> dict[int, int]:
    wanted = {i for i in ids if i is not None}
    found: dict[int, int] = {}
    for i in wanted:
        request = _held(session, Request, i)
        if request is not None and request.community_id is not None:
            found[i] = request.community_id
    missing = wanted - found.keys()
    if missing:
        rows = session.execute(
            select(Request.id, Request.community_id).where(Request.id.in_(missing))
        )
        found.update({int(i): int(c) for i, c in rows})
    return found


def person_compounds(session: Session, ids: Iterable[int | None]) -> dict[int, int | None]:
    """Each person's home compound (None: not placed)."""
    wanted = {i for i in ids if i is not None}
    found = {i: p.compound_id for i in wanted if (p := _held(session, Person, i)) is not None}
    missing = wanted - found.keys()
    if missing:
        rows = session.execute(select(Person.id, Person.compound_id).where(Person.id.in_(missing)))
        found.update({int(i): c for i, c in rows})
    return found


def home_community(session: Session, compound_id: int | None) -> int:
    """The community of a home compound (NO_COMMUNITY for none), from the session if it holds
    the compound, else one indexed lookup."""
    if compound_id is None:
        return NO_COMMUNITY
    return _compound_communities(session, [compound_id]).get(compound_id, NO_COMMUNITY)


def fill(session: Session, objects: Iterable[object]) -> None:
    """Set `community_id` on the new requests, events and outbox rows that lack it."""
    new = [o for o in objects if getattr(o, "community_id", 0) is None]
    if not new:
        return
    with session.no_autoflush:
        requests = [o for o in new if isinstance(o, Request)]
        if requests:
            by_compound = _compound_communities(session, (r.compound_id for r in requests))
            for request in requests:
                request.community_id = by_compound.get(request.compound_id or -1, NO_COMMUNITY)
        events = [o for o in new if isinstance(o, RequestEvent)]
        if events:
            by_request = _request_communities(session, (e.request_id for e in events))
            for item in events:
                item.community_id = by_request.get(item.request_id, NO_COMMUNITY)
        rows = [o for o in new if isinstance(o, OutboxMessage)]
        if rows:
            homes = person_compounds(session, (r.person_id for r in rows))
            by_compound = _compound_communities(session, homes.values())
            for row in rows:
                home = homes.get(row.person_id or -1)
                row.community_id = by_compound.get(home or -1, NO_COMMUNITY)


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: object, _instances: object) -> None:
    fill(session, session.new)
