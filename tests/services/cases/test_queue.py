"""The staff queue: scope, ordering by the next deadline (overdue first), groups and pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.exceptions import NotAllowed, NotFound
from bot.services.cases import queue
from models import RequestStatus, Role
from tests import factories as f
from tests.conftest import TestDB


async def test_ordering_groups_and_pages(db: TestDB) -> None:
    config = f.settings()
    now = f.NOW
    async with db.sessions() as session:
        org = await f.org(session)
        made = [await f.request(session, org=org, now=now - timedelta(days=1)) for _ in range(7)]
        elsewhere = await f.request(session, org=org, building=org.building_a2)
        hours = [-1, None, 2, 72, 240, -5, 480]  # next deadline, relative to now
        for request, offset in zip(made, hours, strict=True):
            if offset is None:
                request.status = RequestStatus.waiting_for_resident
                continue
            if offset == 72 or offset == 480:
                request.accepted_at = now - timedelta(hours=1)
                request.status = RequestStatus.accepted
                request.resolve_by = now + timedelta(hours=offset)
            else:
                request.accept_by = now + timedelta(hours=offset)
        await session.flush()

        first = await queue.list_open(session, person_id=org.staff.id, now=now, settings=config)
        second = await queue.list_open(
            session, person_id=org.staff.id, now=now, settings=config, page=1
        )
        ids = [item.request.id for item in first.items + second.items]
        assert ids == [made[i].id for i in (5, 0, 2, 3, 4, 6, 1)]
        assert elsewhere.id not in ids
        assert (first.total, first.pages, len(first.items), len(second.items)) == (7, 2, 5, 2)
        groups = [item.group.value for item in first.items + second.items]
        assert groups == ["overdue", "overdue", "today", "week", "later", "later", "waiting"]
        # A page past the end shows the last page.
        last = await queue.list_open(
            session, person_id=org.staff.id, now=now, settings=config, page=9
        )
        assert last.page == 1
        # The community admin sees both grids' requests.
        admin = await queue.list_open(session, person_id=org.admin.id, now=now, settings=config)
        assert admin.total == 8


async def test_scope_refusals(db: TestDB) -> None:
    config = f.settings()
    async with db.sessions() as session:
        org = await f.org(session)
        request = await f.request(session, org=org)
        resident = await f.person(session)
        other = await f.person(session, role=Role.grid_staff, unit=org.grid2)
        with pytest.raises(NotAllowed) as refused:
            await queue.list_open(session, person_id=resident.id, now=f.NOW, settings=config)
        assert refused.value.key == "staff.error.no_staff_role"
        with pytest.raises(NotAllowed) as refused:
            await queue.get_in_scope(session, person_id=other.id, request_id=request.id)
        assert refused.value.key == "staff.error.not_in_scope"
        with pytest.raises(NotFound):
            await queue.find_in_scope(session, person_id=org.staff.id, reference="JM-0000-000000")
        found = await queue.find_in_scope(
            session, person_id=org.staff.id, reference=f" {request.reference.lower()} "
        )
        assert found.id == request.id
        with pytest.raises(NotAllowed):
            await queue.require_admin_over(
                session, person_id=org.staff.id, unit_id=request.owner_unit_id
            )
        await queue.require_admin_over(
            session, person_id=org.admin.id, unit_id=request.owner_unit_id
        )
