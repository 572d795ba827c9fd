"""Outgoing messages as WeCom bodies: text, images, and template cards (button_interaction)
whose button keys are our buttons' data, so a click is that press, checked like any.

A card shows a title (36 characters), a description (44) and a subtitle (112); text that does
not fit goes first as a text message, so nothing of it is lost. A card takes six buttons:
more become further cards.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from bot.messages import Button, Outgoing

TITLE = 36
DESC = 44
SUBTITLE = 112
BUTTONS_PER_CARD = 6
BUTTON_TEXT = 20
TEXT_BYTES = 2048
REPLACE_NAME = 40  # † the button text that replaces a card's buttons: check the live docs


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut on a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def buttons_of(message: Outgoing) -> list[Button]:
    return [button for row in message.buttons for button in row]


def card_parts(message: Outgoing) -> tuple[str, str, str, bool]:
    """(title, description, subtitle, whether the text overflows the card)."""
    lines = [line for line in message.text.splitlines() if line.strip()] or ["…"]
    title, rest = lines[0], lines[1:]
    desc = rest[0] if rest and len(rest[0]) <= DESC else ""
    body = "\n".join(rest[1:] if desc else rest)
    overflow = len(title) > TITLE or len(body) > SUBTITLE
    return clip(title, TITLE), desc, clip(body, SUBTITLE), overflow


def card_chunks(message: Outgoing) -> list[list[Button]]:
    items = buttons_of(message)
    return [items[i : i + BUTTONS_PER_CARD] for i in range(0, len(items), BUTTONS_PER_CARD)]


def template_card(
    message: Outgoing, buttons: list[Button], task_id: str, *, first: bool, locale: str
) -> dict[str, Any]:
    """One button_interaction card: the message's text on the first, "continued" after."""
    card: dict[str, Any] = {"card_type": "button_interaction", "task_id": task_id}
    if first:
        title, desc, body, _ = card_parts(message)
        card["main_title"] = {"title": title, **({"desc": desc} if desc else {})}
        if body:
            card["sub_title_text"] = body
    else:
        title = card_parts(message)[0]
        card["main_title"] = {"title": clip(title, TITLE - 4) + t(locale, "wecom.card_more")}
    card["button_list"] = [
        {"text": clip(button.label, BUTTON_TEXT), "style": 1, "key": button.data}
        for button in buttons
    ]
    return card


def envelope(
    userid: str, agent_id: int, msgtype: str, content: dict[str, Any], duplicate_check_s: int
) -> dict[str, Any]:
    """A message/send body; WeCom drops the same message again within the interval."""
    body: dict[str, Any] = {"touser": userid, "msgtype": msgtype, "agentid": agent_id}
    body[msgtype] = content
    if duplicate_check_s > 0:
        body["enable_duplicate_check"] = 1
        body["duplicate_check_interval"] = duplicate_check_s
    return body


def text_content(text: str) -> dict[str, Any]:
    return {"content": clip_bytes(text, TEXT_BYTES)}


def messages_in(message: Outgoing) -> int:
    """How many WeCom messages a message becomes (for the per-member limits)."""
    if message.menu is not None:
        return 1
    if message.edit_message_id:  # an update in place (or, without a code, a new message)
        return max(1, len(card_chunks(message)))
    count = len(message.album) + (1 if message.photo else 0) + (1 if message.document else 0)
    chunks = card_chunks(message)
    if not chunks:
        return count + (1 if message.text or not count else 0)
    return count + len(chunks) + (1 if card_parts(message)[3] else 0)
