"""A new request: routed to its owner unit, numbered, given its deadlines, recorded with why it
went where it went, and pushed to whoever must act on it or hear of it. Later changes go through
`workflow.transition`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.cases import announce, references
from bot.services.dispatch import routing, sla
from models import (
    Category,
    CategoryCorrection,
    EventKind,
    Person,
    Priority,
    Request,
    RequestEvent,
    RequestPhoto,
    RequestStatus,
    Role,
    Visibility,
)

TITLE_LENGTH = 80

# A photo or voice note: (channel file id, size in bytes or None, "photo" | "voice").
PhotoInput = tuple[str, int | None, str]


async def submit(
    session: AsyncSession,
    *,
    reporter: Person | None,
    category: Category,
    description: str,
    photos: Sequence[PhotoInput] = (),
    channel: str = "",
    building_id: int | None = None,
    compound_id: int | None = None,
    lat: float | None = None,
    lon: float | None = None,
    address_text: str = "",
    place_scope: str = "",
    priority: Priority = Priority.ordinary,
    urgent_reason: str = "",
    suggested_category: str | None = None,
    now: datetime,
    settings: Settings,
) -> Request:
    """Create a request: route it, number it, set its deadlines and dispatch it to its owner."""
    decision = await routing.route_request(
        session,
        category=category,
        building_id=building_id,
        compound_id=compound_id,
        lat=lat,
        lon=lon,
        settings=settings,
    )
    request = await _create(
        session,
        reporter=reporter,
        category=category,
        description=description,
        decision=decision,
        lat=lat,
        lon=lon,
        address_text=address_text,
        place_scope=place_scope,
        building_id=building_id,
        compound_id=compound_id,
        priority=priority,
        urgent_reason=urgent_reason,
        now=now,
        settings=settings,
    )
    attach_photos(session, request=request, photos=photos, channel=channel, by=request.reporter_id)
    _record_submission(
        session,
        request=request,
        category=category,
        decision=decision,
        suggested=suggested_category,
        now=now,
    )
    await session.flush()
    await _dispatch(session, request=request, decision=decision, settings=settings)
    return request


async def _create(
    session: AsyncSession,
    *,
    reporter: Person | None,
    category: Category,
    description: str,
    decision: routing.RouteDecision,
    lat: float | None,
    lon: float | None,
    address_text: str,
    place_scope: str,
    building_id: int | None,
    compound_id: int | None,
    priority: Priority,
    urgent_reason: str,
    now: datetime,
    settings: Settings,
) -> Request:
    """The request row, numbered and with its deadlines, flushed so it has an id."""
    reference = await references.next_reference(
        session, prefix=settings.requests.reference_prefix, year=now.astimezone(settings.tz).year
    )
    text = description.strip()[: settings.requests.max_description_length]
    request = Request(
        reference=reference,
        category_id=category.id,
        title=(text.splitlines() or [""])[0][:TITLE_LENGTH],
        description=text,
        lat=lat,
        lon=lon,
        address_text=address_text,
        place_scope=place_scope,
        compound_id=compound_id if compound_id is not None else decision.compound_id,
        building_id=building_id,
        owner_unit_id=decision.owner_unit_id,
        status=RequestStatus.submitted,
        priority=priority,
        urgent_reason=urgent_reason,
        reporter_id=reporter.id if reporter is not None else None,
        created_at=now,
        updated_at=now,
    )
    sla.apply(
        request, sla.compute(category=category, priority=priority, now=now, settings=settings)
    )
    session.add(request)
    await session.flush()
    return request


def _record_submission(
    session: AsyncSession,
    *,
    request: Request,
    category: Category,
    decision: routing.RouteDecision,
    suggested: str | None,
    now: datetime,
) -> None:
    """The timeline's first two events (submitted, and internally where routing sent it), and
    the resident's choice of another category than the one suggested."""
    if suggested and suggested != category.slug:
        # The resident overrode the classifier: keep it, the classifier learns from these.
        session.add(
            CategoryCorrection(
                request_id=request.id,
                text=request.description,
                suggested=suggested,
                corrected=category.slug,
                by_id=request.reporter_id,
                created_at=now,
            )
        )
    actor_id = request.reporter_id
    session.add_all(
        [
            RequestEvent(
                request_id=request.id,
                at=now,
                actor_id=actor_id,
                kind=EventKind.submitted,
                from_status=None,
                to_status=RequestStatus.submitted.value,
                unit_id=decision.owner_unit_id,
            ),
            RequestEvent(
                request_id=request.id,
                at=now,
                actor_id=None,
                kind=EventKind.routed,
                detail={"rule": decision.rule, "steps": list(decision.steps)},
                visibility=Visibility.internal,
                to_status=RequestStatus.submitted.value,
                from_status=RequestStatus.submitted.value,
                unit_id=decision.owner_unit_id,
            ),
        ]
    )


async def _dispatch(
    session: AsyncSession, *, request: Request, decision: routing.RouteDecision, settings: Settings
) -> None:
    """The owner unit's card, and the units kept informed (the grid of a compound without a
    property company, the departments the category names)."""
    actor_id = request.reporter_id
    exclude = {actor_id} if actor_id is not None else set()
    await announce.owner_card(
        session, request=request, heading="submitted", exclude=exclude, settings=settings
    )
    if decision.rule == "no_property_workstation" and decision.grid_id is not None:
        await announce.informed(
            session,
            request=request,
            unit_id=decision.grid_id,
            roles=(Role.grid_staff,),
            settings=settings,
        )
    for department_id in decision.department_ids:
        await announce.informed(
            session,
            request=request,
            unit_id=department_id,
            roles=(Role.department_liaison,),
            settings=settings,
        )


def attach_photos(
    session: AsyncSession,
    *,
    request: Request,
    photos: Sequence[PhotoInput],
    channel: str,
    by: int | None,
    now: datetime | None = None,
) -> None:
    """Keep the channel file ids of photos and voice notes added to a request."""
    session.add_all(
        RequestPhoto(
            request_id=request.id,
            channel=channel,
            file_id=file_id,
            file_size=size,
            kind=kind,
            added_by_id=by,
            **({"created_at": now} if now is not None else {}),
        )
        for file_id, size, kind in photos
    )
