"""Channel-neutral messages: what a channel hands the engine, and what the engine hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

IncomingKind = Literal[
    "text",
    "command",
    "button",
    "location",
    "contact",
    "photo",
    "voice",
    "document",
    "other",
    # The person blocked the bot or allowed it again (`reachable` says which); nothing to answer.
    "reachability",
]


@dataclass(frozen=True, slots=True)
class Photo:
    file_id: str
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update from a person, whatever the channel.

    `kind` says which of the payload fields is set. `update_id` is unique per channel and
    stable across redeliveries, so the engine can drop an update it has already handled.
    """

    channel: str
    chat_id: str
    user_id: str
    update_id: str
    kind: IncomingKind
    language_code: str | None = None
    text: str = ""
    command: str = ""
    args: str = ""
    button_data: str = ""
    latitude: float | None = None
    longitude: float | None = None
    contact_phone: str = ""
    contact_user_id: str = ""
    photos: tuple[Photo, ...] = ()
    voice_file_id: str = ""
    voice_duration: int | None = None
    document_file_id: str = ""
    document_name: str = ""
    display_name: str = ""
    # The channel's id of the message a pressed button belongs to, so a reply can edit it.
    message_id: str | None = None
    is_group: bool = False
    reachable: bool | None = None  # kind "reachability" only


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str


ReplyRequest = Literal["location", "contact"]


@dataclass(frozen=True, slots=True)
class CommandMenu:
    """The command menu a person's own chat should show: the commands of these roles (none:
    the channel's default list), described in `locale`. Channels without menus ignore it."""

    roles: tuple[str, ...]
    locale: str


# What pushes are about: a request's progress ("status", any push about a request), doorstep
# meetings and polls, broadcasts, dual reporting and co-building, volunteers' tasks, digests,
# and anything else ("notice").
PUSH_KINDS = ("status", "meeting", "broadcast", "cobuild", "task", "digest", "notice")


@dataclass(slots=True)
class Outgoing:
    """One message to a chat. Text is plain (channels escape it); buttons are rows."""

    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    # Reply-keyboard buttons asking the client to share location/contact: (label, what).
    reply_requests: list[tuple[str, ReplyRequest]] = field(default_factory=list)
    remove_reply_keyboard: bool = False
    photo: str | None = None  # a channel file id, or a local path to upload
    # Photos shown together before the text (Telegram: one media group, then the text with its
    # buttons); each a channel file id or a local path. Channels without albums skip them:
    # the text must say what they show (a request card counts its photos).
    album: list[str] = field(default_factory=list)
    document: str | None = None
    document_name: str | None = None
    edit_message_id: str | None = None
    # Not a message: change the chat's command menu (text and the rest are then unused).
    menu: CommandMenu | None = None
    # What a push is about (PUSH_KINDS), for channels that pick a form per kind (WeChat's
    # template messages); empty for the replies of a turn.
    kind: str = ""

    def to_payload(self) -> dict[str, Any]:
        """A JSON-safe dict, as stored in the outbox."""
        payload: dict[str, Any] = {"text": self.text}
        if self.buttons:
            payload["buttons"] = [[[b.label, b.data] for b in row] for row in self.buttons]
        if self.reply_requests:
            payload["reply_requests"] = [list(r) for r in self.reply_requests]
        if self.remove_reply_keyboard:
            payload["remove_reply_keyboard"] = True
        for key in ("photo", "document", "document_name", "edit_message_id"):
            value = getattr(self, key)
            if value is not None:
                payload[key] = value
        if self.album:
            payload["album"] = list(self.album)
        if self.menu is not None:
            payload["menu"] = {"roles": list(self.menu.roles), "locale": self.menu.locale}
        if self.kind:
            payload["kind"] = self.kind
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Outgoing:
        """Rebuild a message from its outbox payload."""
        menu = payload.get("menu")
        return cls(
            text=payload.get("text", ""),
            buttons=[
                [Button(label, data) for label, data in row] for row in payload.get("buttons", [])
            ],
            reply_requests=[(label, what) for label, what in payload.get("reply_requests", [])],
            remove_reply_keyboard=bool(payload.get("remove_reply_keyboard", False)),
            photo=payload.get("photo"),
            album=[str(item) for item in payload.get("album", [])],
            document=payload.get("document"),
            document_name=payload.get("document_name"),
            edit_message_id=payload.get("edit_message_id"),
            menu=CommandMenu(tuple(menu["roles"]), menu["locale"]) if menu else None,
            kind=str(payload.get("kind", "")),
        )


def numbered_choices(message: Outgoing) -> str:
    """Text with the buttons as numbered choices, for channels that cannot show buttons."""
    labels = [button.label for row in message.buttons for button in row]
    if not labels:
        return message.text
    lines = [message.text, ""] if message.text else []
    lines += [f"{number}. {label}" for number, label in enumerate(labels, start=1)]
    return "\n".join(lines)
