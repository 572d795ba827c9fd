"""Erasing a person's words, photos and contact details from every place they were copied to.

What a person can type or send, and where it is kept:
- persons: display_name, phone, unit_room (and their address ids, language);
- requests they reported: description, title, urgent_reason, address_text, lat/lon;
- request_events they wrote (additions, withdraw reasons, comments that close or reopen);
- evaluations: comment; category_corrections of their requests: text (the description);
- meeting_invitations: view_text, unit_room; poll_votes: unit_room;
- volunteer_tasks they claimed: note, photos;
- cobuild_grades: comment; cobuild_grades and cobuild_need_supports: the household (its room);
- cobuild_updates a unit's liaison reported: the progress text, and its photo;
- request_photos they added (rows, and the file when the web chat stored one);
- conversations of their chats (scratch texts, pending photos), outbox rows to their chats,
  their own web chat messages (web_own_messages: texts, labels, photos).
Copies in other people's rows (a staff card quoting the complaint, a follower's push, a staff
note, a task's description, a meeting's topic, a liaison's progress report, a need's title, a
project's plan) are found by the words themselves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.i18n import pick_locale, t
from models import (
    Activity,
    ChannelIdentity,
    Conversation,
    Evaluation,
    Meeting,
    MeetingInvitation,
    Need,
    NeedSupport,
    OutboxMessage,
    Person,
    Poll,
    PollOption,
    PollVote,
    Project,
    ProjectGrade,
    ProjectUpdate,
    Request,
    RequestEvent,
    RequestPhoto,
    VolunteerTask,
    WebOwnMessage,
    Whistle,
)

# Stored in place of erased free text; readers see `erase.erased` in their language.
ERASED = "[erased]"
# Shorter pieces of text would match inside unrelated words.
MIN_FRAGMENT = 2
# A line of a longer text is looked for on its own (a title is the first line) when it is this
# long: a short line ("楼道灯不亮") is as likely someone else's words.
MIN_LINE = 6
# Text columns other people write, which may quote an erased person's words.
COPY_COLUMNS: tuple[InstrumentedAttribute[str], ...] = (
    RequestEvent.note,
    VolunteerTask.description,
    VolunteerTask.note,
    Meeting.topic,
    Meeting.place,
    Meeting.minutes,
    Meeting.decision,
    Meeting.actions,
    Meeting.cancel_reason,
    Whistle.note,
    Poll.question,
    PollOption.text,
    ProjectUpdate.text,
    Need.title,
    Project.plan,
    Project.completion_note,
    Activity.title,
    Activity.place,
)


def shown(text: str, locale: str) -> str:
    """A stored text as a reader sees it: erased parts in the reader's language."""
    return text.replace(ERASED, t(locale, "erase.erased")) if ERASED in text else text


def fragments(texts: Iterable[str | None]) -> list[str]:
    """The pieces to look for in copies: each text and each of its lines, longest first."""
    found: set[str] = set()
    for text in texts:
        text = (text or "").strip()
        lines = [line.strip() for line in text.splitlines()]
        pieces = [text] + [line for line in lines if len(line) >= MIN_LINE]
        found.update(p for p in pieces if len(p) >= MIN_FRAGMENT and p != ERASED)
    return sorted(found, key=lambda piece: (-len(piece), piece))


def _pattern(word: str) -> re.Pattern[str]:
    """The word as a whole: Latin letters and digits must not run on into a longer word."""
    body = re.escape(word)
    if word[:1].isascii() and word[:1].isalnum():
        body = r"(?<![A-Za-z0-9])" + body
    if word[-1:].isascii() and word[-1:].isalnum():
        body += r"(?![A-Za-z0-9])"
    return re.compile(body)


def replace_all(value: Any, words: Sequence[str], marker: str) -> Any:
    """`value` (text, or JSON of lists and dicts) with every fragment replaced by `marker`."""
    if isinstance(value, str):
        for word in words:
            if word in value:
                value = _pattern(word).sub(marker, value)
        return value
    if isinstance(value, list):
        return [replace_all(item, words, marker) for item in value]
    if isinstance(value, dict):
        return {key: replace_all(item, words, marker) for key, item in value.items()}
    return value


async def words_of(
    session: AsyncSession, *, person: Person, requests: Sequence[Request]
) -> list[str]:
    """Everything the person typed that is stored, as fragments to look for."""
    texts: list[str | None] = [person.display_name, person.phone, person.unit_room]
    for request in requests:
        texts += [request.description, request.title, request.urgent_reason, request.address_text]
    for column, owner in (
        (RequestEvent.note, RequestEvent.actor_id),
        (Evaluation.comment, Evaluation.person_id),
        (MeetingInvitation.view_text, MeetingInvitation.person_id),
        (VolunteerTask.note, VolunteerTask.claimed_by_id),
        (ProjectGrade.comment, ProjectGrade.person_id),
        (ProjectUpdate.text, ProjectUpdate.by_id),
    ):
        texts += list((await session.execute(select(column).where(owner == person.id))).scalars())
    return fragments(texts)


async def scrub_own(session: AsyncSession, *, person: Person, requests: Sequence[Request]) -> None:
    """Replace the person's own free text by the marker; their room and coordinates go."""
    for request in requests:
        for field in ("description", "title", "urgent_reason"):
            if getattr(request, field):
                setattr(request, field, ERASED)
        request.address_text = ""
        request.lat = request.lon = None
    for column, owner in (
        (RequestEvent.note, RequestEvent.actor_id),
        (Evaluation.comment, Evaluation.person_id),
        (MeetingInvitation.view_text, MeetingInvitation.person_id),
        (VolunteerTask.note, VolunteerTask.claimed_by_id),
        (ProjectGrade.comment, ProjectGrade.person_id),
        (ProjectUpdate.text, ProjectUpdate.by_id),
    ):
        table = column.class_
        await session.execute(
            update(table).where(owner == person.id, column != "").values({column.key: ERASED})
        )
    await session.execute(
        update(MeetingInvitation)
        .where(MeetingInvitation.person_id == person.id)
        .values(unit_room="")
    )
    await session.execute(
        update(PollVote).where(PollVote.person_id == person.id).values(unit_room="")
    )
    # The household key of their supports and grades holds their room.
    supports = select(NeedSupport).where(NeedSupport.person_id == person.id)
    graded = select(ProjectGrade).where(ProjectGrade.person_id == person.id)
    for row in [*await session.scalars(supports), *await session.scalars(graded)]:
        row.household = f"erased:{row.id}"


async def drop_files(session: AsyncSession, *, person: Person) -> list[str]:
    """Delete the rows of photos and voice notes the person sent; returns their file ids."""
    added = select(RequestPhoto.file_id).where(RequestPhoto.added_by_id == person.id)
    files = list((await session.execute(added)).scalars())
    await session.execute(delete(RequestPhoto).where(RequestPhoto.added_by_id == person.id))
    claimed = select(VolunteerTask).where(VolunteerTask.claimed_by_id == person.id)
    for task in (await session.execute(claimed)).scalars():
        if task.photos:
            files += [str(f) for f in task.photos]
            task.photos = []
    reported = select(ProjectUpdate).where(
        ProjectUpdate.by_id == person.id, ProjectUpdate.photo_file_id.is_not(None)
    )
    for update_row in (await session.execute(reported)).scalars():
        files.append(str(update_row.photo_file_id))
        update_row.photo_file_id = None
    return files


def _pending_files(data: dict[str, Any]) -> list[str]:
    """File ids a conversation holds before a flow stores them (report, addition)."""
    found: list[str] = []
    for key in ("photos", "voices"):
        for item in data.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("file_id"), str):
                found.append(item["file_id"])
            elif isinstance(item, list) and item and isinstance(item[0], str):
                found.append(item[0])
    return found


async def drop_chats(session: AsyncSession, *, person: Person) -> list[str]:
    """Delete the person's conversations, every outbox row to them and their own web chat
    messages (their chat history both ways, pending pushes); returns the file ids their
    conversations and own messages still held."""
    identities = select(ChannelIdentity.channel, ChannelIdentity.chat_id).where(
        ChannelIdentity.person_id == person.id
    )
    chats = [tuple(row) for row in (await session.execute(identities)).all()]
    theirs: ColumnElement[bool] = Conversation.person_id == person.id
    to_them: ColumnElement[bool] = OutboxMessage.person_id == person.id
    sent: ColumnElement[bool] = WebOwnMessage.person_id == person.id
    if chats:
        theirs = theirs | tuple_(Conversation.channel, Conversation.chat_id).in_(chats)
        to_them = to_them | tuple_(OutboxMessage.channel, OutboxMessage.chat_id).in_(chats)
        sent = sent | tuple_(WebOwnMessage.channel, WebOwnMessage.chat_id).in_(chats)
    rows = (await session.execute(select(Conversation.data).where(theirs))).scalars()
    files = [f for data in rows for f in _pending_files(data or {})]
    photos = select(WebOwnMessage.photo).where(sent, WebOwnMessage.photo.is_not(None))
    files += [str(name) for name in (await session.execute(photos)).scalars()]
    await session.execute(delete(Conversation).where(theirs))
    await session.execute(delete(OutboxMessage).where(to_them))
    await session.execute(delete(WebOwnMessage).where(sent))
    return files


def _mentions(column: Any, words: Sequence[str], *, as_json: bool = False) -> ColumnElement[bool]:
    """The column holds one of the words (as stored: JSON escapes non-ASCII text)."""
    text = cast(column, Text) if as_json else column
    forms = set(words) | ({json.dumps(w)[1:-1] for w in words} if as_json else set())
    return or_(*(text.contains(form, autoescape=True) for form in sorted(forms)))


async def scrub_copies(session: AsyncSession, *, words: Sequence[str], default_locale: str) -> None:
    """Replace the words wherever others' rows copied them: notes, tasks, meetings, pushes."""
    if not words:
        return
    for column in COPY_COLUMNS:
        table = column.class_
        key = table.__mapper__.primary_key[0]
        found = await session.execute(select(key, column).where(_mentions(column, words)))
        for row_id, value in found.all():
            fixed = replace_all(value, words, ERASED)
            if fixed != value:
                await session.execute(
                    update(table).where(key == row_id).values({column.key: fixed})
                )
    chats = select(Conversation).where(_mentions(Conversation.data, words, as_json=True))
    for chat in (await session.execute(chats)).scalars():  # someone's flow holds a quote
        chat.data = replace_all(chat.data, words, ERASED)
    query = (
        select(OutboxMessage, Person.language)
        .outerjoin(Person, Person.id == OutboxMessage.person_id)
        .where(_mentions(OutboxMessage.payload, words, as_json=True))
    )
    for message, language in (await session.execute(query)).all():
        marker = t(pick_locale(language, None, default_locale), "erase.erased")
        fixed = replace_all(message.payload, words, marker)
        if fixed != message.payload:
            message.payload = fixed
