"""The same conversation through the conversation core (the in-product test channel, named
"telegram") and through a real Telegram framework: people ("parties") who type, press and read
alike on both, and transcripts of what each one was sent, comparable between the two."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from bot.channels.telegram_common import split_text
from bot.channels.testing import TestChannel, TestChat
from bot.messages import Outgoing
from models import ChannelIdentity, OrgUnit, Person, Role, RoleGrant
from tests.fakes.bot_api import FakeBotAPI, FakeUser, parse_html

if TYPE_CHECKING:
    from bot.core.engine import Engine
    from bot.outbox import Sender
    from tests.conftest import Clock, TestDB
    from tests.e2e.conftest import Rig

Entry = tuple[str, tuple[str, ...]]
Transcript = list[Entry]
_core_ids = itertools.count(70_001)


def normalise(text: str) -> str:
    """Text that differs between runs of one conversation made alike: references come from a
    PostgreSQL sequence (a rollback does not rewind it), invite tokens are random."""
    text = re.sub(r"JM-\d{4}-\d{6}", "JM-REF", text)
    return re.sub(r"inv_[\w-]+", "inv_TOKEN", text)


@dataclass(frozen=True)
class Seen:
    """One message as the person sees it now (edits applied)."""

    ref: str
    text: str
    buttons: tuple[tuple[str, str], ...]  # (label, data)
    photo: bool = False

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


class Party(Protocol):
    """One person in a conversation, on either side."""

    actions: int

    async def send(self, text: str) -> Any: ...
    async def press(self, label: str) -> Any: ...
    async def press_data(self, data: str, *, ref: str | None = None) -> Any: ...
    async def share_contact(self, phone: str) -> Any: ...
    async def send_photo(self) -> Any: ...

    @property
    def texts(self) -> list[str]: ...
    @property
    def last_text(self) -> str: ...
    @property
    def buttons(self) -> list[str]: ...
    def seen(self) -> list[Seen]: ...
    def new(self) -> list[Seen]: ...
    def photos(self) -> list[bytes]: ...
    def transcript(self) -> Transcript: ...


# --- the core's side -----------------------------------------------------------------------------


def _labels(rows: Any) -> tuple[str, ...]:
    return tuple(normalise(b.label) for row in rows for b in row)


def _entries(message: Outgoing) -> Transcript:
    """What Telegram shows of one Outgoing (see telegram_common.plan), as transcript entries."""
    labels = _labels(message.buttons)
    media = message.photo or message.document
    editable = message.edit_message_id and not (media or message.reply_requests)
    if editable and len(split_text(message.text)) == 1 and message.text.strip():
        return [("[edit] " + normalise(message.text), labels)]
    out: Transcript = []
    if message.album:
        out.append(("[photo]", ()) if len(message.album) == 1 else ("[album]", ()))
    if media:
        out.append(("[photo]" if message.photo else "[document]", ()))
    if message.text.strip():
        chunks = [normalise(chunk) for chunk in split_text(message.text)]
        out += [(chunk, ()) for chunk in chunks[:-1]] + [(chunks[-1], labels)]
    elif labels and out:
        out[-1] = (out[-1][0], labels)
    return out


class CoreParty:
    """A TestChat, read as a Telegram user would read it."""

    def __init__(self, chat: TestChat) -> None:
        self.chat = chat

    @property
    def actions(self) -> int:
        return self.chat.actions

    async def send(self, text: str) -> Any:
        return await self.chat.send(text)

    async def press(self, label: str) -> Any:
        return await self.chat.press(label)

    async def press_data(self, data: str, *, ref: str | None = None) -> Any:
        ids = self.chat.channel.message_ids[self.chat.chat_id]
        return await self.chat.press_data(data, message_id=ref or (ids[-1] if ids else None))

    async def share_contact(self, phone: str) -> Any:
        return await self.chat.share_contact(phone)

    async def send_photo(self) -> Any:
        return await self.chat.send_photo(f"photo-{next(_core_ids)}")

    @property
    def texts(self) -> list[str]:
        return self.chat.texts

    @property
    def last_text(self) -> str:
        return self.chat.last_text

    @property
    def buttons(self) -> list[str]:
        return self.chat.buttons

    def _seen(self, start: int) -> list[Seen]:
        sent = self.chat.channel.sent[self.chat.chat_id]
        ids = self.chat.channel.message_ids[self.chat.chat_id]
        latest: dict[str, Seen] = {}
        for ref, message in list(zip(ids, sent, strict=True))[start:]:
            buttons = tuple((b.label, b.data) for row in message.buttons for b in row)
            photo = bool(message.photo or message.album)
            latest[ref] = Seen(ref, message.text, buttons, photo)
        return list(latest.values())

    def seen(self) -> list[Seen]:
        return self._seen(0)

    def new(self) -> list[Seen]:
        return self._seen(self.chat._seen)

    def photos(self) -> list[bytes]:
        """The bytes of each photo sent by itself (a QR code, a chart), oldest first."""
        sent = self.chat.channel.sent[self.chat.chat_id]
        return [Path(m.photo).read_bytes() for m in sent if m.photo]

    def transcript(self) -> Transcript:
        return [e for m in self.chat.channel.sent[self.chat.chat_id] for e in _entries(m)]


# --- Telegram's side -----------------------------------------------------------------------------


def _inline(markup: Any) -> tuple[tuple[str, str], ...]:
    rows = (markup or {}).get("inline_keyboard") or []
    return tuple((b["text"], b["callback_data"]) for row in rows for b in row)


def telegram_transcript(api: FakeBotAPI, chat_id: str) -> Transcript:
    """What the bot sent to a chat through the Bot API, as transcript entries (the hints that
    only carry a reply keyboard left out)."""
    out: Transcript = []
    for call in api.calls:
        if call.status != 200 or str(call.params.get("chat_id")) != chat_id:
            continue
        markup = call.params.get("reply_markup") or {}
        labels = tuple(normalise(label) for label, _ in _inline(markup))
        raw = call.params.get("text") or call.params.get("caption") or ""
        text = normalise(parse_html(str(raw)))
        if call.method == "sendMessage":
            hint = "  ".join(b["text"] for row in markup.get("keyboard", []) for b in row)
            if not (hint and text == hint):
                out.append((text, labels))
        elif call.method in ("sendPhoto", "sendDocument"):
            out.append(("[photo]" if call.method == "sendPhoto" else "[document]", ()))
            if text:
                out.append((text, labels))
            elif labels:
                out[-1] = (out[-1][0], labels)
        elif call.method == "sendMediaGroup":
            out.append(("[album]", ()))
        elif call.method == "editMessageText":
            out.append(("[edit] " + text, labels))
        elif call.method == "editMessageReplyMarkup" and labels:
            out[-1] = (out[-1][0], labels)
    return out


class TelegramParty:
    """A user of the fake Bot API."""

    def __init__(self, user: FakeUser) -> None:
        self.user = user

    @property
    def actions(self) -> int:
        return self.user.actions

    async def send(self, text: str) -> Any:
        return await self.user.send(text)

    async def press(self, label: str) -> Any:
        return await self.user.press(label)

    async def press_data(self, data: str, *, ref: str | None = None) -> Any:
        return await self.user.press_data(data, message_id=int(ref) if ref else None)

    async def share_contact(self, phone: str) -> Any:
        return await self.user.share_contact(phone)

    async def send_photo(self) -> Any:
        return await self.user.send_photo()

    @property
    def texts(self) -> list[str]:
        return self.user.texts

    @property
    def last_text(self) -> str:
        return self.user.last_text

    @property
    def buttons(self) -> list[str]:
        return self.user.buttons

    @staticmethod
    def _as_seen(message: dict[str, Any]) -> Seen:
        text = str(message.get("text") or message.get("caption") or "")
        buttons = _inline(message.get("reply_markup"))
        return Seen(str(message["message_id"]), text, buttons, "photo" in message)

    def seen(self) -> list[Seen]:
        return [self._as_seen(m) for m in self.user.messages]

    def new(self) -> list[Seen]:
        return [self._as_seen(m) for m in self.user.new_messages]

    def photos(self) -> list[bytes]:
        """The bytes of each photo sent by itself (a QR code, a chart), oldest first."""
        files = self.user.api.files
        shown = [m for m in self.user.messages if "photo" in m and "media_group_id" not in m]
        return [files[m["photo"][-1]["file_id"]] for m in shown]

    def transcript(self) -> Transcript:
        return telegram_transcript(self.user.api, self.user.chat_id)


# --- the worlds ----------------------------------------------------------------------------------


@dataclass
class World:
    """Where a conversation happens: the parties by name, the engine, its sender, the clock."""

    db: TestDB
    clock: Clock
    engine: Engine
    sender: Sender
    parties: dict[str, Party] = field(default_factory=dict)

    async def _new(self, name: str) -> tuple[str, Party]:
        raise NotImplementedError

    async def resident(self, name: str) -> Party:
        """A new person writing to the bot."""
        _chat_id, party = await self._new(name)
        self.parties[name] = party
        return party

    async def staff(
        self, name: str, *, role: Role = Role.grid_staff, unit: str = "heshun-1"
    ) -> Party:
        """A new person holding `role` on the unit with code `unit`, known on Telegram."""
        chat_id, party = await self._new(name)
        async with self.db.sessions() as session, session.begin():
            person = Person(display_name=name, language="zh")
            session.add(person)
            await session.flush()
            session.add(
                ChannelIdentity(
                    person_id=person.id, channel="telegram", external_id=chat_id, chat_id=chat_id
                )
            )
            found = await session.execute(select(OrgUnit).where(OrgUnit.code == unit))
            session.add(RoleGrant(person_id=person.id, role=role, unit_id=found.scalar_one().id))
        self.parties[name] = party
        return party

    async def pump(self) -> None:
        """Deliver pending pushes."""
        for _ in range(20):
            if not await self.sender.pump():
                return

    def transcripts(self) -> dict[str, Transcript]:
        return {name: party.transcript() for name, party in self.parties.items()}


@dataclass
class CoreWorld(World):
    channel: TestChannel = field(default_factory=lambda: TestChannel(name="telegram"))

    async def _new(self, name: str) -> tuple[str, Party]:
        user_id = str(next(_core_ids))
        chat = TestChat(self.engine, self.channel, user_id=user_id, display_name=name)
        return user_id, CoreParty(chat)


@dataclass
class TelegramWorld(World):
    rig: Rig | None = None

    async def _new(self, name: str) -> tuple[str, Party]:
        assert self.rig is not None
        user = self.rig.user(first_name=name)
        return user.chat_id, TelegramParty(user)
