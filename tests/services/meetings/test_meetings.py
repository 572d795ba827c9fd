"""Meeting services: scope, reminders exactly once, polls closing at their time, floor area,
and the printable notice's QR code."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings, load_settings
from bot.exceptions import NotAllowed, NotFound
from bot.services.meetings import audience, ballots, convene, notice, outcome, reminders
from models import (
    Building,
    Compound,
    Flat,
    Meeting,
    MeetingKind,
    MeetingStatus,
    OrgUnit,
    OutboxMessage,
    Person,
    PollRule,
    Role,
    RoleGrant,
    ScopeKind,
)
from tests.conftest import TestDB

NOW = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


@pytest.fixture
def cfg(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    return load_settings()


async def _building(session: AsyncSession, number: str = "17") -> Building:
    stmt = (
        select(Building)
        .join(Compound, Compound.id == Building.compound_id)
        .where(Compound.code == "haisheng-sunshine", Building.number == number)
    )
    return (await session.execute(stmt)).scalar_one()


async def _staff(session: AsyncSession, unit: str = "heshun-1") -> Person:
    person = Person(display_name="网格员")
    session.add(person)
    await session.flush()
    unit_id = (await session.execute(select(OrgUnit.id).where(OrgUnit.code == unit))).scalar_one()
    session.add(RoleGrant(person_id=person.id, role=Role.grid_staff, unit_id=unit_id))
    await session.flush()
    return person


async def _resident(session: AsyncSession, building: Building, room: str) -> Person:
    person = Person(
        display_name=room, compound_id=building.compound_id, building_id=building.id, unit_room=room
    )
    session.add(person)
    await session.flush()
    return person


async def _pushes(session: AsyncSession) -> int:
    return int(
        (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    )


async def _meeting(
    session: AsyncSession, cfg: Settings, *, starts_in: timedelta | None = timedelta(days=4)
) -> Meeting:
    building = await _building(session)
    scope_ = await audience.load_scope(session, kind=ScopeKind.building, building_id=building.id)
    return await convene.convene(
        session,
        organiser=await _staff(session),
        scope_=scope_,
        topic="屋顶漏水",
        kind=MeetingKind.meeting if starts_in is not None else MeetingKind.poll,
        place="楼门口",
        starts_at=NOW + starts_in if starts_in is not None else None,
        now=NOW,
        settings=cfg,
    )


async def _remind(session: AsyncSession, now: datetime, cfg: Settings) -> int:
    return await reminders.send_meeting_reminders(session, now=now, settings=cfg)


def test_unit_of_addresses() -> None:
    assert [audience.unit_of(a) for a in ("2-301", "3单元502", " 1/101", "301", "")] == [
        "2",
        "3",
        "1",
        "",
        "",
    ]


async def test_reminders_go_out_exactly_once_each(demo: TestDB, cfg: Settings) -> None:
    async with demo.sessions() as session:
        meeting = await _meeting(session, cfg)
        # The demo's 张阿姨 and 李叔叔 live in building 17 (reachable on the "demo" channel).
        before = await _pushes(session)
        assert await _remind(session, NOW, cfg) == 0
        day_before = NOW + timedelta(days=3, hours=1)
        assert await _remind(session, day_before, cfg) == 1
        assert await _remind(session, day_before, cfg) == 0
        after_day = await _pushes(session)
        assert after_day - before == 2
        hour_before = NOW + timedelta(days=4) - timedelta(minutes=50)
        assert await _remind(session, hour_before, cfg) == 1
        assert await _remind(session, hour_before, cfg) == 0
        assert await _pushes(session) - after_day == 2
        late = NOW + timedelta(days=4, minutes=5)
        assert await _remind(session, late, cfg) == 0
        await session.refresh(meeting)
        assert meeting.reminded_day_at == day_before and meeting.reminded_hour_at == hour_before


async def test_a_meeting_convened_at_short_notice_gets_only_the_hour_reminder(
    demo: TestDB, cfg: Settings
) -> None:
    async with demo.sessions() as session:
        await _meeting(session, cfg, starts_in=timedelta(hours=5))
        before = await _pushes(session)
        # Within the day but the invitation just went out: the day reminder is skipped.
        assert await _remind(session, NOW, cfg) == 0
        soon = NOW + timedelta(hours=4, minutes=30)
        assert await _remind(session, soon, cfg) == 1
        assert await _pushes(session) - before == 2


async def test_convening_needs_rights_over_every_building(demo: TestDB, cfg: Settings) -> None:
    async with demo.sessions() as session:
        outsider = await _staff(session, unit="dahua-1")
        building = await _building(session)
        scope_ = await audience.load_scope(
            session, kind=ScopeKind.building, building_id=building.id
        )
        with pytest.raises(NotAllowed):
            await convene.convene(
                session, organiser=outsider, scope_=scope_, topic="x", now=NOW, settings=cfg
            )
        # A compound whose buildings span two grids needs both.
        compound = scope_.compound
        whole = await audience.load_scope(session, kind=ScopeKind.compound, compound_id=compound.id)
        grid_staff = await _staff(session, unit="heshun-1")
        assert await convene.can_convene(session, person=grid_staff, scope_=whole)
        assert whole.expected_households() == 333
        with pytest.raises(NotFound):
            await audience.load_scope(
                session, kind=ScopeKind.units, building_id=building.id, units=[]
            )


async def test_polls_close_at_their_set_time(demo: TestDB, cfg: Settings) -> None:
    async with demo.sessions() as session:
        meeting = await _meeting(session, cfg, starts_in=None)
        organiser = await session.get(Person, meeting.organiser_id)
        assert organiser is not None
        poll = await ballots.create_poll(
            session, meeting=meeting, actor=organiser, question="车棚？", rule=PollRule.majority
        )
        keep = await ballots.add_option(session, poll=poll, text="保留")
        await ballots.add_option(session, poll=poll, text="改车位")
        assert keep is not None
        await ballots.open_poll(
            session, poll=poll, closes_at=NOW + timedelta(hours=1), now=NOW, settings=cfg
        )
        voter = (
            await session.execute(select(Person).where(Person.display_name == "张阿姨"))
        ).scalar_one()
        await ballots.cast_vote(session, poll_id=poll.id, option_id=keep.id, person=voter, now=NOW)
        assert (
            await ballots.close_due_polls(session, now=NOW + timedelta(minutes=59), settings=cfg)
            == 0
        )
        # Past the closing time votes are refused even before the sweep runs.
        with pytest.raises(NotFound):
            await ballots.cast_vote(
                session,
                poll_id=poll.id,
                option_id=keep.id,
                person=voter,
                now=NOW + timedelta(hours=2),
            )
        assert (
            await ballots.close_due_polls(session, now=NOW + timedelta(hours=2), settings=cfg) == 1
        )
        assert (
            await ballots.close_due_polls(session, now=NOW + timedelta(hours=3), settings=cfg) == 0
        )
        await session.refresh(poll)
        assert poll.result is not None and poll.result["participants"] == 1
        assert poll.result["households"] == 21 and poll.result["approved"] is True


async def test_floor_area_from_flats(demo: TestDB, cfg: Settings) -> None:
    async with demo.sessions() as session:
        building = await _building(session, "1")  # 18 households
        staff = await _staff(session)
        people = [await _resident(session, building, f"1-{n:02d}") for n in range(1, 19)]
        # Every flat's area known: 17 flats of 60 m², one of 300 m² (1320 m² in all).
        for n in range(1, 19):
            area = 300.0 if n == 1 else 60.0
            session.add(Flat(building_id=building.id, unit_room=f"1-{n:02d}", floor_area=area))
        scope_ = await audience.load_scope(
            session, kind=ScopeKind.building, building_id=building.id
        )
        meeting = await convene.convene(
            session, organiser=staff, scope_=scope_, topic="外墙", now=NOW, settings=cfg
        )
        poll = await ballots.create_poll(
            session, meeting=meeting, actor=staff, question="外墙保温？", rule=PollRule.common
        )
        yes = await ballots.add_option(session, poll=poll, text="同意")
        no = await ballots.add_option(session, poll=poll, text="不同意")
        assert yes is not None and no is not None
        await ballots.open_poll(session, poll=poll, closes_at=None, now=NOW, settings=cfg)
        # 12 households take part (12 of 18 = 2/3) holding 300 + 11 * 60 = 960 m² (>= 880).
        # 7 small flats vote yes (7 of 12 households, more than half) but 420 of 960 m²: no.
        for person in people[1:8]:
            await ballots.cast_vote(
                session, poll_id=poll.id, option_id=yes.id, person=person, now=NOW
            )
        for person in [people[0], *people[8:12]]:
            await ballots.cast_vote(
                session, poll_id=poll.id, option_id=no.id, person=person, now=NOW
            )
        result = await ballots.compute(session, poll=poll)
        assert result.total_area == 1320.0 and result.participating_area == 960.0
        assert result.quorum_met and result.winner == yes.id and not result.approved


def test_notice_png_decodes_to_the_configured_link(cfg: Settings) -> None:
    assert notice.meeting_link(cfg, meeting_id=42) == "http://127.0.0.1:8080/?start=m_42"
    telegram = load_settings(
        meetings={"link_format": "https://t.me/{bot}?start={payload}", "bot_username": "jimo_bot"}
    )
    link = notice.meeting_link(telegram, meeting_id=42)
    assert link == "https://t.me/jimo_bot?start=m_42"
    png = notice.notice_png(
        link=link, title="红马扎议事通知", lines=["地点：楼门口"], caption="扫码签到"
    )
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [r.text for r in decoded] == [link]
    assert notice.parse_payload("m_42") == 42 and notice.parse_payload("m_x") is None
    assert notice.parse_payload("m_2147483648") is None  # past an id column


async def test_a_meeting_is_either_called_off_or_held_never_both(
    demo: TestDB, cfg: Settings
) -> None:
    """Each side sees the meeting scheduled (as two organisers would, pressing at once); the
    one that writes second is refused in words that say why, and its change is not made."""
    async with demo.sessions() as session, session.begin():
        building = await _building(session)
        meeting = await _meeting(session, cfg)
        staff = await _staff(session)
        later = await _meeting(session, cfg)
        await _resident(session, building, "3-701")
    async with demo.sessions() as stale, demo.sessions() as stale_later:
        async with stale.begin(), stale_later.begin():  # both still scheduled when read
            seen = await stale.get(Meeting, meeting.id)
            seen_later = await stale_later.get(Meeting, later.id)
        assert seen is not None and seen.status == MeetingStatus.scheduled
        assert seen_later is not None and seen_later.status == MeetingStatus.scheduled
        async with demo.sessions() as first, first.begin():
            fresh, fresh_later = (
                await first.get(Meeting, meeting.id),
                await first.get(Meeting, later.id),
            )
            assert fresh is not None and fresh_later is not None
            await outcome.cancel(
                first, meeting=fresh, actor=staff, reason="物业已修好", now=NOW, settings=cfg
            )
            await outcome.record_outcome(
                first,
                meeting=fresh_later,
                actor=staff,
                decision="修",
                actions="",
                now=NOW,
                settings=cfg,
            )
        with pytest.raises(NotFound) as refused:
            async with stale.begin():
                await outcome.record_outcome(
                    stale,
                    meeting=seen,
                    actor=staff,
                    decision="修",
                    actions="",
                    now=NOW,
                    settings=cfg,
                )
        assert refused.value.key == "meeting.cancelled"
        with pytest.raises(NotFound) as refused:
            async with stale_later.begin():
                await outcome.cancel(
                    stale_later, meeting=seen_later, actor=staff, reason="", now=NOW, settings=cfg
                )
        assert refused.value.key == "meeting.over"
    async with demo.sessions() as session:
        called_off = await session.get(Meeting, meeting.id)
        held = await session.get(Meeting, later.id)
        assert called_off is not None and held is not None
        assert (called_off.status, called_off.decision) == (MeetingStatus.cancelled, "")
        assert (held.status, held.cancel_reason) == (MeetingStatus.held, "")
