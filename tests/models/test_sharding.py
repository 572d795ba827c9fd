"""The distribution column `community_id` (docs/scaling.md), on SQLite and PostgreSQL: filled on
insert for requests, their events and outbox rows; the migration's backfill agrees with it; the
outbox claim can be limited to some communities' chats."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text

from bot.messages import Outgoing
from bot.outbox.store import claim, enqueue
from models import (
    ChannelIdentity,
    Compound,
    OrgUnit,
    OutboxMessage,
    Person,
    Request,
    RequestEvent,
)
from tests import factories
from tests.conftest import Bot, TestDB
from tests.handlers.journey import COMMUNITY, onboard, report_light

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0018_scaling.py"


async def test_a_request_its_events_and_pushes_carry_the_community(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        org = await factories.org(session)
        placed = await factories.person(session)
        placed.compound_id = org.compound_b.id
        request = await factories.request(session, org=org, reporter=placed)
        to_placed = await enqueue(
            session, channel="telegram", chat_id="1", message=Outgoing(text="a"),
            person_id=placed.id, request_id=request.id,
        )  # fmt: skip
        to_staff = await enqueue(
            session, channel="telegram", chat_id="2", message=Outgoing(text="b"),
            person_id=org.staff.id, request_id=request.id,
        )  # fmt: skip
        anonymous = await enqueue(
            session, channel="telegram", chat_id="3", message=Outgoing(text="c")
        )
        ids = request.id, to_placed.id, to_staff.id, anonymous.id
        community = org.community.id
    async with db.sessions() as session:
        stored = await session.scalar(select(Request.community_id).where(Request.id == ids[0]))
        events = set(
            await session.scalars(
                select(RequestEvent.community_id).where(RequestEvent.request_id == ids[0])
            )
        )
        outbox = dict(
            (await session.execute(
                select(OutboxMessage.id, OutboxMessage.community_id)
                .where(OutboxMessage.id.in_(ids[1:]))
            )).all()
        )  # fmt: skip
    assert community != 0
    assert stored == community and events == {community}
    # A push follows its recipient's home, not the request: staff have none here.
    assert outbox == {ids[1]: community, ids[2]: 0, ids[3]: 0}


async def test_replies_follow_the_resident_home_once_placed(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await report_light(chat)
    async with bot.db.sessions() as session:
        heshun = await session.scalar(select(OrgUnit.id).where(OrgUnit.name_zh == COMMUNITY["zh"]))
        person_id = await session.scalar(
            select(ChannelIdentity.person_id).where(ChannelIdentity.chat_id == chat.chat_id)
        )
        rows = (
            (
                await session.execute(
                    select(OutboxMessage.community_id)
                    .where(OutboxMessage.chat_id == chat.chat_id, OutboxMessage.is_reply)
                    .order_by(OutboxMessage.id)
                )
            )
            .scalars()
            .all()
        )
        request = (
            await session.execute(select(Request).where(Request.reporter_id == person_id))
        ).scalar_one()
    assert rows[0] == 0  # a newcomer has no home yet
    assert rows[-1] == heshun  # the submitted request's answer, once placed
    assert request.community_id == heshun


async def test_the_backfill_gives_what_inserts_give(bot: Bot) -> None:
    chat = bot.chat()
    await onboard(chat)
    await report_light(chat)
    spec = importlib.util.spec_from_file_location("migration_0018", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    tables = ("requests", "request_events", "outbox")

    async def snapshot() -> dict[str, list[tuple[int, int]]]:
        async with bot.db.sessions() as session:
            return {
                t: [
                    tuple(r)
                    for r in await session.execute(
                        text(f"SELECT id, community_id FROM {t} ORDER BY id")
                    )
                ]
                for t in tables
            }

    before = await snapshot()
    assert any(c for _, c in before["requests"])
    async with bot.db.sessions() as session, session.begin():
        for table in tables:
            await session.execute(text(f"UPDATE {table} SET community_id = 0"))
        for statement in migration.BACKFILL:
            await session.execute(text(statement))
    after = await snapshot()
    assert after["requests"] == before["requests"]
    assert after["request_events"] == before["request_events"]
    # The outbox's backfill places a chat's old rows at its home of today: the same as on
    # insert except for what was written before the resident was placed (their 0 then).
    assert [r for r in after["outbox"] if dict(before["outbox"])[r[0]]] == [
        r for r in before["outbox"] if r[1]
    ]
    assert {c for _, c in after["outbox"]} == {c for _, c in before["outbox"]}


async def test_a_claim_can_be_limited_to_some_communities(db: TestDB) -> None:
    async with db.sessions() as session, session.begin():
        org = await factories.org(session)
        other = await factories.unit(session, kind=org.community.kind, parent=org.street)
        elsewhere = await factories.compound(session, community=other, lat=36.4, lon=120.5)
        people = []
        for compound in (org.compound_a, elsewhere):
            person = await factories.person(session)
            person.compound_id = compound.id
            people.append(person)
        for n, person in enumerate(people):
            await enqueue(
                session, channel="telegram", chat_id=f"c{n}", message=Outgoing(text="x"),
                person_id=person.id,
            )  # fmt: skip
        now = factories.NOW + timedelta(seconds=1)
        mine = await claim(
            session, now=now, lease_until=now + timedelta(seconds=60), channels=["telegram"],
            limit=10, quiet=False, communities=[other.id],
        )  # fmt: skip
        assert [c.chat_id for c in mine] == ["c1"]
        rest = await claim(
            session, now=now, lease_until=now + timedelta(seconds=60), channels=["telegram"],
            limit=10, quiet=False,
        )  # fmt: skip
        assert [c.chat_id for c in rest] == ["c0"]
        assert (
            await session.scalar(select(Compound.community_id).where(Compound.id == elsewhere.id))
            == other.id
        )
        assert isinstance(people[0], Person)
