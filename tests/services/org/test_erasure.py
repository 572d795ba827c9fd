"""Erasure finds a person's words where others copied them: tasks, meetings, whistles, votes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.i18n import t
from bot.services.cases import intake
from bot.services.org import erasure, people
from models import (
    Conversation,
    Meeting,
    MeetingInvitation,
    OutboxMessage,
    Person,
    Poll,
    PollOption,
    PollVote,
    ScopeKind,
    VolunteerTask,
    Whistle,
)
from tests import factories
from tests.conftest import TestDB
from tests.handlers.privacy_journey import dump, hits

NAME, PHONE, ROOM = "Quinn Zed", "13955550123", "5-505"
COMPLAINT = f"Pipe burst by flat {ROOM}, ask for {NAME} QZ11"
VIEW = "Fix it this week QZ12"


def test_a_short_latin_word_is_replaced_only_as_a_whole_word() -> None:
    words = erasure.fragments(["Li", "王芳", "  ", "x"])
    assert words == ["Li", "王芳"]
    value = {"text": "List of lights: Li called, 王芳说", "buttons": [["Li"]], "n": 3}
    assert erasure.replace_all(value, words, "#") == {
        "text": "List of lights: # called, #说",
        "buttons": [["#"]],
        "n": 3,
    }


async def test_copies_made_by_others_are_scrubbed(db: TestDB, tmp_path: Path) -> None:
    settings = factories.settings()
    settings.webchat.upload_dir = tmp_path
    async with db.sessions() as session, session.begin():
        org = await factories.org(session)
        resident = await factories.person(session)
        resident.display_name, resident.phone, resident.unit_room = NAME, PHONE, ROOM
        resident.building_id = org.building_a1.id
        request = await intake.submit(
            session,
            reporter=resident,
            category=org.general,
            description=COMPLAINT,
            building_id=org.building_a1.id,
            compound_id=org.compound_a.id,
            now=factories.NOW,
            settings=settings,
        )
        meeting = Meeting(
            topic=request.title,
            request_id=request.id,
            unit_id=org.grid.id,
            scope_kind=ScopeKind.building,
            compound_id=org.compound_a.id,
            building_id=org.building_a1.id,
            minutes=f"{NAME} spoke first",
        )
        session.add_all(
            [
                meeting,
                VolunteerTask(request_id=request.id, description=request.description),
                Whistle(request_id=request.id, unit_id=org.grid.id, note=f"call {PHONE}"),
                # A staff member half-way through convening a meeting on the request.
                Conversation(channel="telegram", chat_id="staff", data={"title": request.title}),
                OutboxMessage(
                    channel="telegram",
                    chat_id="someone",
                    payload={"text": f"Lights list: {NAME} ({PHONE}) wrote"},
                ),
            ]
        )
        await session.flush()
        poll = Poll(meeting_id=meeting.id, question=f"Fix it, as {NAME} asks?")
        session.add(poll)
        await session.flush()
        option = PollOption(poll_id=poll.id, text="yes")
        session.add(option)
        await session.flush()
        session.add_all(
            [
                MeetingInvitation(
                    meeting_id=meeting.id, person_id=resident.id, unit_room=ROOM, view_text=VIEW
                ),
                PollVote(
                    poll_id=poll.id, person_id=resident.id, option_id=option.id, unit_room=ROOM
                ),
            ]
        )
        await session.flush()
    markers = (NAME, PHONE, ROOM, "QZ11", "QZ12")
    assert {marker for marker, _ in hits(await dump(db), markers)} == set(markers)
    async with db.sessions() as session, session.begin():
        erased = await session.get(Person, resident.id)
        assert erased is not None
        await people.erase(session, person=erased, now=factories.NOW, settings=settings)
    assert hits(await dump(db), markers) == []
    async with db.sessions() as session:
        found = select(OutboxMessage.payload).where(OutboxMessage.chat_id == "someone")
        payload = (await session.execute(found)).scalar_one()
    marker = t("zh", "erase.erased")
    assert payload == {"text": f"Lights list: {marker} ({marker}) wrote"}
