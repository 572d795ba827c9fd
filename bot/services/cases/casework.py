"""What staff do to a request besides moving its status: photos, category corrections,
resolving with a result, and where they may transfer it. Status changes still go through
`workflow.transition`, which checks the actor's rights again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.exceptions import InvalidTransition, NotAllowed
from bot.i18n import t
from bot.messages import Outgoing
from bot.services.cases import cards, intake, workflow
from bot.services.comms import notify
from bot.services.org import scope
from models import (
    Category,
    CategoryCorrection,
    ChannelIdentity,
    OrgUnit,
    Person,
    Request,
    RequestEvent,
    UnitKind,
    Visibility,
)

# Units a request can be transferred to; departments are summoned (whistle), teams get tasks.
TRANSFER_KINDS = frozenset(
    {
        UnitKind.street,
        UnitKind.community,
        UnitKind.grid,
        UnitKind.building_group,
        UnitKind.workstation,
    }
)


async def _require(session: AsyncSession, *, request: Request, actor: Person) -> None:
    if not await workflow.may(session, request=request, action=workflow.Action.note, actor=actor):
        raise NotAllowed("staff.error.not_in_scope", reference=request.reference)


async def add_photos(
    session: AsyncSession,
    *,
    request: Request,
    actor: Person,
    photos: Sequence[intake.PhotoInput],
    channel: str,
    now: datetime,
    settings: Settings,
) -> RequestEvent:
    """Attach staff photos to a request, with an internal note saying how many."""
    await _require(session, request=request, actor=actor)
    intake.attach_photos(
        session, request=request, photos=photos, channel=channel, by=actor.id, now=now
    )
    note = t(settings.locale.default, "staff.photos_note", count=len(photos))
    return await workflow.transition(
        session,
        request=request,
        action=workflow.Action.note,
        actor=actor,
        now=now,
        note=note,
        visibility=Visibility.internal,
        settings=settings,
    )


async def resolve(
    session: AsyncSession,
    *,
    request: Request,
    actor: Person,
    result: str,
    photos: Sequence[intake.PhotoInput],
    channel: str,
    now: datetime,
    settings: Settings,
) -> RequestEvent:
    """Resolve with a result text the resident reads (and the Rate button), plus photos."""
    # Before the resolution message, so its Rate button stays the newest one.
    await _result_photos(
        session, request=request, photos=photos, channel=channel, settings=settings
    )
    event = await workflow.transition(
        session,
        request=request,
        action=workflow.Action.resolve,
        actor=actor,
        now=now,
        note=result.strip()[: settings.requests.max_text_length],
        settings=settings,
    )
    intake.attach_photos(
        session, request=request, photos=photos, channel=channel, by=actor.id, now=now
    )
    await session.flush()
    return event


async def _result_photos(
    session: AsyncSession,
    *,
    request: Request,
    photos: Sequence[workflow.PhotoInput],
    channel: str,
    settings: Settings,
) -> None:
    """The result's photos to the reporter, as an album each of their channels can show (the
    text says how many there are, for a channel that shows none)."""
    shown = tuple((channel, file_id) for file_id, _size, kind in photos if kind == "photo")
    if not shown or request.reporter_id is None:
        return
    upload_dir = settings.webchat.upload_dir
    await notify.notify_where(
        session,
        who=ChannelIdentity.person_id == request.reporter_id,
        request_id=request.id,
        settings=settings,
        render=lambda locale: Outgoing(
            text=t(locale, "webchat_media.result_photos", count=len(shown))
        ),
        adapt=lambda message, to: replace(
            message, album=cards.channel_album(shown, to, upload_dir)
        ),
    )


async def change_category(
    session: AsyncSession,
    *,
    request: Request,
    category: Category,
    actor: Person,
    now: datetime,
    settings: Settings,
) -> CategoryCorrection:
    """Correct a request's category; the correction is kept to retrain the classifier."""
    await _require(session, request=request, actor=actor)
    if request.status not in workflow.OPEN:
        raise InvalidTransition("workflow.error.not_open", reference=request.reference)
    old = await session.get(Category, request.category_id)
    assert old is not None  # a foreign key guarantees it
    if old.id == category.id:
        raise InvalidTransition("staff.error.same_category")
    correction = CategoryCorrection(
        request_id=request.id,
        text=request.description,
        suggested=old.slug,
        corrected=category.slug,
        by_id=actor.id,
        created_at=now,
    )
    session.add(correction)
    request.category_id = category.id
    locale = settings.locale.default
    note = t(locale, "staff.category_note", old=old.name(locale), new=category.name(locale))
    await workflow.transition(
        session,
        request=request,
        action=workflow.Action.note,
        actor=actor,
        now=now,
        note=note,
        visibility=Visibility.internal,
        settings=settings,
    )
    return correction


async def transfer_roots(session: AsyncSession, *, person_id: int) -> list[OrgUnit]:
    """Where the person's transfer tree starts: the parent of each unit they hold a staff role
    on (so a grid can pass a request across to a sibling grid), or the unit itself at the top."""
    granted = await scope.granted_units(session, person_id=person_id, roles=scope.STAFF_ROLES)
    parent_ids = {unit.parent_id for unit in granted if unit.parent_id is not None}
    parents = (
        list((await session.execute(select(OrgUnit).where(OrgUnit.id.in_(parent_ids)))).scalars())
        if parent_ids
        else []
    )
    roots = {u.id: u for u in parents} | {u.id: u for u in granted if u.parent_id is None}
    ordered = sorted(roots.values(), key=lambda u: u.path)
    # Drop a root lying inside another root's subtree.
    return [
        u for u in ordered if not any(u.path.startswith(o.path) and u is not o for o in ordered)
    ]


async def may_transfer_to(session: AsyncSession, *, person_id: int, unit: OrgUnit) -> bool:
    """True when `unit` may receive a transfer from this person: of a receiving kind, strictly
    below one of their transfer roots."""
    if unit.kind not in TRANSFER_KINDS:
        return False
    roots = await transfer_roots(session, person_id=person_id)
    return any(unit.path.startswith(root.path) and unit.id != root.id for root in roots)


async def list_transfer_children(session: AsyncSession, *, unit_id: int) -> list[OrgUnit]:
    """The units directly below `unit_id` that can receive a transfer, by kind then code."""
    query = (
        select(OrgUnit)
        .where(OrgUnit.parent_id == unit_id, OrgUnit.kind.in_(list(TRANSFER_KINDS)))
        .order_by(OrgUnit.kind, OrgUnit.code)
    )
    return list((await session.execute(query)).scalars())


async def has_transfer_children(session: AsyncSession, *, unit_id: int) -> bool:
    """True when some unit below `unit_id` can receive a transfer."""
    query = select(OrgUnit.id).where(
        OrgUnit.parent_id == unit_id, OrgUnit.kind.in_(list(TRANSFER_KINDS))
    )
    return (await session.execute(query.limit(1))).first() is not None
