"""What a handler gets for one update: the session, the person, the state, a way to reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from bot.messages import Button, Incoming, Outgoing, ReplyRequest
from models import Person


@dataclass(slots=True)
class ChatState:
    """Where one chat is in its conversation: its `conversations` row, locked for the update.

    A plain object rather than a mapped one: the engine writes back what a handler changed in
    one statement at the end of the update, without the ORM's unit of work on the hot path.
    """

    person_id: int | None
    state: str
    data: dict[str, Any]
    _loaded: tuple[int | None, str, dict[str, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._loaded = (self.person_id, self.state, self.data)

    def changes(self) -> dict[str, Any]:
        """The columns that differ from the row as loaded (another statement of the same
        update may have written the others: those are left as they are)."""
        person_id, state, data = self._loaded
        values: dict[str, Any] = {}
        if self.person_id != person_id:
            values["person_id"] = self.person_id
        if self.state != state:
            values["state"] = self.state
        if self.data is not data and self.data != data:
            values["data"] = self.data
        return values


KEPT = "_kept"  # scratch data: texts typed while no flow could take them
KEEP_AT_MOST = 10


@dataclass
class Context:
    """One update's unit of work, as handlers see it. Handlers never commit."""

    session: AsyncSession
    incoming: Incoming
    settings: Settings
    now: datetime
    conversation: ChatState
    person: Person
    t: Translator
    replies: list[Outgoing] = field(default_factory=list)
    # The replies answer a photo album once (`answer_album_once`).
    album_reply: bool = False

    @property
    def locale(self) -> str:
        return self.t.locale

    @property
    def state(self) -> str:
        return self.conversation.state

    @property
    def data(self) -> dict[str, Any]:
        """The conversation's scratch data; saved with the state."""
        if self.conversation.data is None:
            self.conversation.data = {}
        return self.conversation.data

    def goto(self, state: str, **data: Any) -> None:
        """Move to `state`, replacing the scratch data. What the person typed that no flow could
        take yet (`keep_text`) goes along, except back to the main menu."""
        kept = self.data.get(KEPT) if state else None
        self.conversation.state = state
        self.conversation.data = dict(data)
        if kept:
            self.conversation.data[KEPT] = kept

    def keep_text(self) -> bool:
        """Keep the text of this update for the flow that can take it (a report, once the
        person has registered): nothing a person types is lost. False when there is none."""
        text = self.incoming.text.strip() if self.incoming.kind == "text" else ""
        if text:
            self.update_data(**{KEPT: [*self.data.get(KEPT, []), text][-KEEP_AT_MOST:]})
        return bool(text)

    def take_kept(self) -> list[str]:
        """The texts kept so far, removed from the scratch data."""
        kept = list(self.data.get(KEPT, []))
        if kept:
            self.conversation.data = {k: v for k, v in self.data.items() if k != KEPT}
        return kept

    def update_data(self, **data: Any) -> None:
        """Change some scratch data, keeping the state."""
        self.conversation.data = {**self.data, **data}

    def set_locale(self, locale: str) -> None:
        """Switch the language used for the rest of this update."""
        self.t = Translator(locale)

    def reply(
        self,
        text: str,
        *,
        buttons: list[list[Button]] | None = None,
        reply_requests: list[tuple[str, ReplyRequest]] | None = None,
        remove_reply_keyboard: bool = False,
        photo: str | None = None,
        document: str | None = None,
        document_name: str | None = None,
        album: list[str] | None = None,
    ) -> Outgoing:
        """Queue a reply to this chat; it is written to the outbox with the update's commit."""
        message = Outgoing(
            text=text,
            buttons=buttons or [],
            reply_requests=reply_requests or [],
            remove_reply_keyboard=remove_reply_keyboard,
            photo=photo,
            document=document,
            document_name=document_name,
            album=album or [],
        )
        self.replies.append(message)
        return message

    def answer_album_once(self) -> None:
        """Photos picked together arrive as one update each: answer the album once. This
        update's replies replace those of the album's earlier photos that are still unsent,
        and wait a moment for its next photo (bot.core.replies.write_album)."""
        if self.incoming.media_group:
            self.album_reply = True

    def say(self, key: str, /, **params: Any) -> Outgoing:
        """Reply with one catalog message."""
        return self.reply(self.t(key, **params))
