"""A callback's plain XML as one neutral `Incoming`, parsed by wechatpy.

The update id is `MsgId` for messages and `FromUserName + CreateTime + Event` (+ its key) for
events, so WeChat's retries and duplicate deliveries of one push are one update. Menu clicks are the
commands of the same name; following through a compound's QR code (or scanning it) is
`/start c_<compound>`; unfollowing makes the identity unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from wechatpy import parse_message

from bot.channels.wechat import CHANNEL
from bot.messages import Incoming

# Menu keys (see bot/channels/wechat/menu.py) and the commands they run.
CLICK_COMMANDS = {
    "new": "new",
    "my": "my",
    "help": "help",
    "privacy": "privacy",
    "language": "language",
}
Interaction = Literal["message", "event"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One callback: the update for the engine (None: nothing to handle), what it tells of
    the resident's window, the account it was sent to, and media still to fetch."""

    incoming: Incoming | None
    openid: str
    account: str
    interaction: Interaction | None
    media_id: str = ""
    media_kind: Literal["", "image", "voice"] = ""


def parse(xml: str) -> Inbound:
    """Parse a plain callback body (ValueError when it is not a WeChat push)."""
    try:
        message = parse_message(xml)
    except Exception as exc:
        raise ValueError(f"not a WeChat push: {type(exc).__name__}") from None
    data: dict[str, Any] = getattr(message, "_data", {}) or {}
    openid, account = str(data.get("FromUserName") or ""), str(data.get("ToUserName") or "")
    if not openid:
        raise ValueError("not a WeChat push: no FromUserName")
    base = Incoming(
        channel=CHANNEL,
        chat_id=openid,
        user_id=openid,
        update_id=_update_id(data),
        kind="other",
    )
    if str(data.get("MsgType", "")).lower() == "event":
        incoming = _event(message, data, base)
        return Inbound(incoming, openid, account, "event" if incoming else None)
    return _message(message, data, base, openid, account)


def _update_id(data: dict[str, Any]) -> str:
    msg_id = data.get("MsgId") or data.get("MsgID")
    if msg_id:
        return f"m{msg_id}"
    # The event's key too: two different menu clicks within one second are two updates
    # (WeChat's retries of one push carry the same key).
    key = data.get("EventKey") or ""
    return f"e{data.get('FromUserName')}:{data.get('CreateTime')}:{data.get('Event')}:{key}"


def _message(
    message: Any, data: dict[str, Any], base: Incoming, openid: str, account: str
) -> Inbound:
    kind = message.type
    if kind == "text":
        # A tap on a menu message (msgmenu) arrives as text with the item's id: the
        # button's data, pressed (and checked) like any button.
        menu_id = data.get("bizmsgmenuid")
        if menu_id:
            incoming = replace(base, kind="button", button_data=str(menu_id))
        else:
            incoming = _text(base, message.content or "")
    elif kind == "location":
        incoming = replace(
            base,
            kind="location",
            latitude=float(message.location_x),
            longitude=float(message.location_y),
        )
    elif kind == "image":
        photo = replace(base, kind="photo")
        return Inbound(photo, openid, account, "message", message.media_id, "image")
    elif kind == "voice":
        recognition = (message.recognition or "").strip()
        incoming = replace(base, kind="voice", text=recognition)
        return Inbound(incoming, openid, account, "message", message.media_id, "voice")
    else:
        incoming = base  # video, link, file...: "other", answered politely
    return Inbound(incoming, openid, account, "message")


def _event(message: Any, data: dict[str, Any], base: Incoming) -> Incoming | None:
    event = str(getattr(message, "event", "") or "").lower()
    if event in ("subscribe_scan", "scan"):
        scene = str(message.scene_id or "").removeprefix("qrscene_")
        return replace(base, kind="command", command="start", args=_start_args(scene))
    if event == "subscribe":
        return replace(base, kind="command", command="start")
    if event == "unsubscribe":
        return replace(base, kind="reachability", reachable=False)
    if event == "click":
        command = CLICK_COMMANDS.get(str(message.key or ""))
        return replace(base, kind="command", command=command) if command else None
    if event == "location":
        return replace(
            base, kind="location", latitude=message.latitude, longitude=message.longitude
        )
    return None  # VIEW, TEMPLATESENDJOBFINISH and the like: nothing to answer


def _text(base: Incoming, text: str) -> Incoming:
    """Typed text; `/word args` is the command, as in the other channels."""
    if text.startswith("/") and len(text) > 1:
        head, _, args = text[1:].partition(" ")
        return replace(base, kind="command", command=head, args=args.strip())
    return replace(base, kind="text", text=text)


def _start_args(scene: str) -> str:
    """A QR code's scene as the /start payload: a compound's id becomes `c_<id>`."""
    if scene.startswith("c_"):
        return scene
    return f"c_{scene}" if scene.isdigit() else ""
