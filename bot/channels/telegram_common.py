"""Telegram, whichever framework drives it: update conversion, text and keyboard rendering plans
(the command lists are in `bot.commands`).

Everything here works on the Bot API's own JSON shapes (plain dicts), which both
python-telegram-bot and aiogram mirror, so the two adapters behave identically by construction:
an adapter only fetches updates and turns a `Part` into one call of its framework's Bot client.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.core.output import SendResult
from bot.messages import Incoming, Outgoing, Photo, ReplyRequest

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_ALBUM = 10  # photos in one media group
# Update types the bot handles; everything else is not even fetched. my_chat_member tells
# when a person blocks the bot or allows it again.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# --- text ---------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Plain text made safe for parse_mode=HTML (only <, > and & are special there)."""
    return html.escape(text, quote=False)


def _utf16_len(text: str) -> int:
    # Telegram counts message length in UTF-16 code units (an emoji counts two).
    return len(text.encode("utf-16-le")) // 2


_SENTENCE_END = re.compile(r"[。！？!?.；;…](?=\s|$)|[。！？；…]")


def _cut_at(window: str) -> int:
    """Where to cut a too-long text inside `window`: paragraph, line, sentence, word, anywhere."""
    floor = len(window) // 2
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at >= floor:
            return at + len(separator)
    ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() >= floor]
    if ends:
        return ends[-1]
    at = window.rfind(" ")
    return at + 1 if at >= floor else len(window)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Plain text in pieces of at most `limit` UTF-16 units, cut at natural boundaries."""
    pieces: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        window = rest[:limit]
        while _utf16_len(window) > limit:
            window = window[: -(_utf16_len(window) - limit)]
        cut = _cut_at(window)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip("\n")
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


# --- rendering plan -----------------------------------------------------------------------------

Method = Literal["sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText"]
InlineRows = tuple[tuple[tuple[str, str], ...], ...]


@dataclass(frozen=True, slots=True)
class Part:
    """One Bot API call rendering (part of) an Outgoing; `text` is already HTML-escaped."""

    method: Method
    text: str = ""
    inline: InlineRows = ()
    reply: tuple[tuple[str, ReplyRequest], ...] = ()
    remove_keyboard: bool = False
    # Attach `inline` with editMessageReplyMarkup after sending (the message had to carry
    # ReplyKeyboardRemove, and one message holds one kind of keyboard).
    inline_after: bool = False
    file: str | None = None
    filename: str | None = None
    edit_message_id: str | None = None
    files: tuple[str, ...] = ()  # sendMediaGroup: the photos
    # Photos shown before the message itself: the message id reported is never theirs.
    album: bool = False


def album_parts(album: list[str]) -> list[Part]:
    """An album as media groups of up to ten photos (a lone photo is sent by itself)."""
    groups = [tuple(album[i : i + MAX_ALBUM]) for i in range(0, len(album), MAX_ALBUM)]
    return [
        Part("sendPhoto", file=group[0], album=True)
        if len(group) == 1
        else Part("sendMediaGroup", files=group, album=True)
        for group in groups
    ]


def plan(message: Outgoing) -> list[Part]:
    """The calls that render one Outgoing, in order; the message id reported is the first
    one's that is not an album photo. An edit changes the text and buttons only."""
    inline: InlineRows = tuple(
        tuple((b.label, b.data) for b in row) for row in message.buttons if row
    )
    reply = tuple(message.reply_requests)
    text = message.text
    if message.edit_message_id and not (message.photo or message.document or reply):
        chunks = split_text(text)
        if len(chunks) == 1 and text.strip():
            return [
                Part(
                    "editMessageText", escape(text), inline, edit_message_id=message.edit_message_id
                )
            ]
    album = album_parts(message.album)
    parts: list[Part] = []
    media = message.photo or message.document
    if media:
        method: Method = "sendPhoto" if message.photo else "sendDocument"
        caption = text if _utf16_len(text) <= MAX_CAPTION else ""
        parts.append(Part(method, escape(caption), file=media, filename=message.document_name))
        if not caption and text.strip():
            parts += [Part("sendMessage", escape(chunk)) for chunk in split_text(text)]
    elif text.strip():
        parts = [Part("sendMessage", escape(chunk)) for chunk in split_text(text)]
    if not parts:
        return album
    last = len(parts) - 1
    if inline:
        parts[last] = with_changes(parts[last], inline=inline)
    if message.remove_reply_keyboard:
        parts[0] = with_changes(parts[0], remove_keyboard=True, inline_after=bool(parts[0].inline))
    if reply:
        if inline:
            # One message holds one keyboard: the reply keyboard comes in a short extra message.
            hint = "  ".join(label for label, _ in reply)
            parts.append(Part("sendMessage", escape(hint), reply=reply))
        else:
            parts[last] = with_changes(parts[last], reply=reply)
    return album + parts


def with_changes(part: Part, **changes: Any) -> Part:
    """A copy of a part with some fields changed."""
    values = {name: getattr(part, name) for name in Part.__slots__}
    values.update(changes)
    return Part(**values)


def inline_markup(rows: InlineRows) -> dict[str, Any]:
    """An InlineKeyboardMarkup as Bot API JSON."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in rows
        ]
    }


def reply_markup_json(part: Part) -> dict[str, Any] | None:
    """The reply_markup of a part as Bot API JSON (None when it has none)."""
    if part.reply:
        return {
            "keyboard": [[{"text": label, f"request_{what}": True}] for label, what in part.reply],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }
    if part.remove_keyboard:
        return {"remove_keyboard": True}
    if part.inline:
        return inline_markup(part.inline)
    return None


# --- sending outcomes ---------------------------------------------------------------------------

_UNREACHABLE = (
    "bot was blocked",
    "user is deactivated",
    "chat not found",
    "bot was kicked",
    "bot can't initiate",
    "have no rights to send",
    "not enough rights",
    "group chat was upgraded",
)


def classify_failure(status: int | None, description: str, retry_after: float | None) -> SendResult:
    """A failed Bot API call as a SendResult: 429 wait, 403 gone, 400 permanent, else retry."""
    lowered = description.lower()
    if retry_after is not None or status == 429:
        return SendResult(ok=False, retry_after=float(retry_after or 1), error=description)
    if status == 403 or any(marker in lowered for marker in _UNREACHABLE):
        return SendResult(ok=False, unreachable=True, error=description)
    if status == 400:
        return SendResult(ok=False, permanent=True, error=description)
    return SendResult(ok=False, error=description or f"HTTP {status}")


def not_modified(description: str) -> bool:
    """Telegram's answer to an edit that changes nothing: not an error for us."""
    return "message is not modified" in description.lower()


def edit_impossible(description: str) -> bool:
    """The message to edit is gone or too old: send a new one instead."""
    lowered = description.lower()
    return "message to edit not found" in lowered or "message can't be edited" in lowered


# --- updates ------------------------------------------------------------------------------------


class MalformedUpdate(ValueError):
    """An update Telegram would never send: no chat, an id that is not an integer. Sending it
    again cannot help, answering it would write to a made-up chat: it is dropped."""


def _id(value: Any, what: str) -> str:
    """A Bot API id (an integer) as our string id; anything else makes the update malformed."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedUpdate(f"{what} is not an integer")
    return str(value)


def _part(value: Any, what: str) -> Mapping[str, Any]:
    """A JSON object inside an update (an absent one is empty)."""
    if value is not None and not isinstance(value, Mapping):
        raise MalformedUpdate(f"{what} is not an object")
    return value or {}


def _name(user: Mapping[str, Any]) -> str:
    return " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)[:200]


def incoming_from_update(
    update: Mapping[str, Any], *, bot_username: str | None = None
) -> Incoming | None:
    """A Bot API update (JSON) as an Incoming; None for update types the bot ignores, and for
    commands addressed to another bot (`/start@OtherBot`, given our `bot_username`).
    Raises MalformedUpdate for one that names no chat or whose ids are not integers."""
    update_id = _id(update.get("update_id"), "update_id")
    if member := update.get("my_chat_member"):
        return _reachability(update_id, _part(member, "my_chat_member"))
    query = _part(update.get("callback_query"), "callback_query")
    if query:
        if not isinstance(query.get("id"), str):  # answered by this id once handled
            raise MalformedUpdate("callback query id is not a string")
        user = _part(query.get("from"), "from")
        message = _part(query.get("message"), "message")
        chat = _part(message.get("chat"), "chat") or {"id": user.get("id"), "type": "private"}
        chat_id = _id(chat.get("id"), "chat id")
        return Incoming(
            channel=CHANNEL,
            chat_id=chat_id,
            user_id=_id(user.get("id", chat["id"]), "user id"),
            update_id=update_id,
            kind="button",
            language_code=user.get("language_code"),
            button_data=query.get("data") or "",
            display_name=_name(user),
            message_id=str(message["message_id"]) if "message_id" in message else None,
            is_group=chat.get("type") in ("group", "supergroup"),
        )
    message = _part(update.get("message"), "message")
    if not message:
        return None
    user = _part(message.get("from"), "from")
    chat = _part(message.get("chat"), "chat")
    chat_id = _id(chat.get("id"), "chat id")
    user_id = _id(user.get("id", chat["id"]), "user id")
    payload = _payload(message, bot_username)
    if payload is None:
        return None
    group = message.get("media_group_id")
    if isinstance(group, str) and payload["kind"] == "photo":
        payload["media_group"] = group[:100]
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": chat_id,
        "user_id": user_id,
        "update_id": update_id,
        "language_code": user.get("language_code"),
        "display_name": _name(user),
        "is_group": chat.get("type") in ("group", "supergroup"),
    }
    return Incoming(**base, **payload)


# A blocked bot is "kicked" from the private chat; allowed again, it is a "member" once more.
_GONE = ("kicked", "left")


def _reachability(update_id: str, member: Mapping[str, Any]) -> Incoming | None:
    """my_chat_member in a private chat: the person blocked the bot or allowed it again.
    The bot's status in groups is no person's reachability: ignored."""
    chat = _part(member.get("chat"), "chat")
    if chat.get("type") != "private":
        return None
    user = _part(member.get("from"), "from")
    status = _part(member.get("new_chat_member"), "new_chat_member").get("status")
    return Incoming(
        channel=CHANNEL,
        chat_id=_id(chat.get("id"), "chat id"),
        user_id=_id(user.get("id", chat["id"]), "user id"),
        update_id=update_id,
        kind="reachability",
        language_code=user.get("language_code"),
        display_name=_name(user),
        reachable=status not in _GONE,
    )


def _payload(message: Mapping[str, Any], bot_username: str | None) -> dict[str, Any] | None:
    text = message.get("text")
    if text is not None:
        if text.startswith("/") and len(text) > 1:
            head, _, args = text[1:].partition(" ")
            head, _, newline_args = head.partition("\n")
            command, _, addressee = head.partition("@")
            if addressee and bot_username and addressee.lower() != bot_username.lower():
                return None  # /start@OtherBot in a group: another bot's command
            return {
                "kind": "command",
                "command": command.lower(),
                "args": (args or newline_args).strip(),
            }
        return {"kind": "text", "text": text}
    caption = message.get("caption") or ""
    if location := message.get("location"):
        return {
            "kind": "location",
            "latitude": location.get("latitude"),
            "longitude": location.get("longitude"),
        }
    if contact := message.get("contact"):
        contact_user = contact.get("user_id")
        return {
            "kind": "contact",
            "contact_phone": contact.get("phone_number", ""),
            "contact_user_id": str(contact_user) if contact_user is not None else "",
        }
    if sizes := message.get("photo"):
        largest = max(sizes, key=lambda s: (s.get("file_size") or 0, s.get("width", 0)))
        photo = Photo(largest["file_id"], largest.get("file_size"))
        return {"kind": "photo", "photos": (photo,), "text": caption}
    if voice := message.get("voice"):
        return {
            "kind": "voice",
            "voice_file_id": voice["file_id"],
            "voice_duration": voice.get("duration"),
        }
    if document := message.get("document"):
        return {
            "kind": "document",
            "document_file_id": document["file_id"],
            "document_name": document.get("file_name", ""),
            "text": caption,
        }
    return {"kind": "other", "text": caption}
