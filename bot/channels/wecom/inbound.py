"""A callback's plain XML as one neutral `Incoming`.

The update id is `MsgId` for messages and `FromUserName + CreateTime + Event + EventKey +
TaskId` for events, so WeCom's retries of one push are one update. A click on a template
card's button is the button press its key names (the handler re-checks it against the
database), with the card's task id as the message to edit; an invite code typed alone is
`/start inv_...`. A voice message comes without words (WeCom recognises none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import xmltodict

from bot.channels.wecom import CHANNEL
from bot.messages import Incoming

_INVITE = re.compile(r"inv_[A-Za-z0-9_-]{4,64}")


@dataclass(frozen=True, slots=True)
class Click:
    """A card click: the card's task id and the code that may update it for the clicker."""

    task_id: str
    response_code: str


@dataclass(frozen=True, slots=True)
class Inbound:
    """One callback: the update for the engine (None: nothing to handle), the member, the
    click it carries, and media still to fetch."""

    incoming: Incoming | None
    userid: str
    click: Click | None = None
    media_id: str = ""


def parse(xml: str) -> Inbound:
    """Parse a plain callback body (ValueError when it is not a WeCom push)."""
    try:
        parsed = xmltodict.parse(xml)
    except Exception as exc:
        raise ValueError(f"not a WeCom push: {type(exc).__name__}") from None
    data = parsed.get("xml") if isinstance(parsed, dict) else None
    if not isinstance(data, dict):
        raise ValueError("not a WeCom push: no xml element")
    userid = _text(data, "FromUserName")
    if not userid:
        raise ValueError("not a WeCom push: no FromUserName")
    base = Incoming(
        channel=CHANNEL, chat_id=userid, user_id=userid, update_id=_update_id(data), kind="other"
    )
    kind = _text(data, "MsgType").lower()
    if kind == "event":
        return _event(data, base, userid)
    if kind == "text":
        return Inbound(_typed(base, _text(data, "Content")), userid)
    if kind == "image":
        return Inbound(replace(base, kind="photo"), userid, media_id=_text(data, "MediaId"))
    if kind == "voice":  # WeCom gives no words for it: the member is asked to type some
        return Inbound(replace(base, kind="voice"), userid, media_id=_text(data, "MediaId"))
    if kind == "location":
        latitude, longitude = _float(data, "Location_X"), _float(data, "Location_Y")
        if latitude is not None and longitude is not None:
            located = replace(base, kind="location", latitude=latitude, longitude=longitude)
            return Inbound(located, userid)
    return Inbound(base, userid)  # video, file...: "other", answered politely


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _float(data: dict[str, Any], key: str) -> float | None:
    try:
        return float(_text(data, key))
    except ValueError:
        return None


def _update_id(data: dict[str, Any]) -> str:
    msg_id = _text(data, "MsgId")
    if msg_id:
        return f"m{msg_id}"
    parts = [_text(data, key) for key in ("FromUserName", "CreateTime", "Event", "EventKey")]
    return "e" + ":".join([*parts, _text(data, "TaskId")])[:200]


def _event(data: dict[str, Any], base: Incoming, userid: str) -> Inbound:
    event = _text(data, "Event").lower()
    if event == "template_card_event":
        key, task_id = _text(data, "EventKey"), _text(data, "TaskId")
        if not key or not task_id:
            return Inbound(None, userid)
        click = Click(task_id, _text(data, "ResponseCode"))
        pressed = replace(base, kind="button", button_data=key, message_id=task_id)
        return Inbound(pressed, userid, click)
    return Inbound(None, userid)  # opening the app (enter_agent) and the like: no answer


def _typed(base: Incoming, text: str) -> Incoming:
    """Typed text; `/word args` is the command, an invite code alone is `/start inv_...`."""
    if _INVITE.fullmatch(text):
        return replace(base, kind="command", command="start", args=text)
    if text.startswith("/") and len(text) > 1:
        head, _, args = text[1:].partition(" ")
        return replace(base, kind="command", command=head, args=args.strip())
    return replace(base, kind="text", text=text)
