"""Outgoing messages as WeCom bodies: text, images, and template cards (button_interaction)
whose button keys are our buttons' data, so a click is that press, checked like any.

A card shows a title, a description and a subtitle (their sizes: `limits.LIMITS`). A text that
fits is read on the card alone; one that does not goes as a text message, and its card
carries only a short title (the text's first line) over the buttons, so the member reads the
text once. A card takes six buttons: more become further cards. A card whose buttons are done
(edited without buttons) keeps the first lines of its new text and shows, greyed in place of
its buttons, the text's last line when the card had no room for it (else "done").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.channels.wecom.limits import LIMITS
from bot.i18n import t
from bot.messages import Button, Outgoing

# The key of the one greyed button of a done card: never a button's data (a click, if one
# ever came, is a stale press).
DONE_KEY = "rg_done"


@dataclass(frozen=True, slots=True)
class CardText:
    """A text laid out on a card: title, description, subtitle, and whether all of the text
    is there (`fits`)."""

    title: str
    desc: str
    body: str
    fits: bool

    def fields(self) -> dict[str, Any]:
        main: dict[str, Any] = {"title": self.title, **({"desc": self.desc} if self.desc else {})}
        return {"main_title": main, **({"sub_title_text": self.body} if self.body else {})}

    def shows(self, line: str) -> bool:
        """Whether the card shows `line` whole."""
        return line in (self.title, self.desc) or line in self.body.split("\n")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut on a character."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def lines_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()] or ["…"]


def card_text(text: str) -> CardText:
    """The text on a card: the first line the title, the second the description when short
    enough, the rest the subtitle; what does not fit is cut (the first lines kept)."""
    lines = lines_of(text)
    title, rest = lines[0], lines[1:]
    desc = rest[0] if rest and len(rest[0]) <= LIMITS.desc else ""
    body = "\n".join(rest[1:] if desc else rest)
    fits = len(title) <= LIMITS.title and len(body) <= LIMITS.subtitle
    return CardText(clip(title, LIMITS.title), desc, clip(body, LIMITS.subtitle), fits)


def overflows(message: Outgoing) -> bool:
    """Whether a card cannot hold the message's text (it then goes as a text message)."""
    return not card_text(message.text).fits


def buttons_of(message: Outgoing) -> list[Button]:
    return [button for row in message.buttons for button in row]


def card_chunks(message: Outgoing) -> list[list[Button]]:
    items, size = buttons_of(message), LIMITS.buttons_per_card
    return [items[i : i + size] for i in range(0, len(items), size)]


def template_card(
    message: Outgoing, buttons: list[Button], task_id: str, *, first: bool, locale: str
) -> dict[str, Any]:
    """One button_interaction card: on the first, the message's text when it fits, else its
    short title (the text goes as a message of its own); "continued" on the others."""
    card: dict[str, Any] = {"card_type": "button_interaction", "task_id": task_id}
    laid = card_text(message.text)
    if first and laid.fits:
        card |= laid.fields()
    elif first:
        card["main_title"] = {"title": laid.title}
    else:
        more = t(locale, "wecom.card_more")
        card["main_title"] = {"title": clip(laid.title, LIMITS.title - len(more)) + more}
    card["button_list"] = [
        {"text": clip(button.label, LIMITS.button_text), "style": 1, "key": button.data}
        for button in buttons
    ]
    return card


def done_card(message: Outgoing, task_id: str, *, locale: str) -> dict[str, Any]:
    """A card whose buttons are done: the new text (its first lines when it does not all
    fit), and in place of the buttons one greyed text, the last line if the card has no room
    for it and it is short enough, else "done"."""
    laid = card_text(message.text)
    last = lines_of(message.text)[-1]
    news = last if len(last) <= LIMITS.replace_text and not laid.shows(last) else ""
    replacement = news or t(locale, "wecom.card_done")
    return {
        "card_type": "button_interaction",
        "task_id": task_id,
        **laid.fields(),
        "button_list": [
            {"text": clip(replacement, LIMITS.button_text), "style": 1, "key": DONE_KEY}
        ],
        "replace_text": replacement,
    }


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
    return {"content": clip_bytes(text, LIMITS.text_bytes)}


def messages_in(message: Outgoing) -> int:
    """How many WeCom messages a message becomes (for the per-member limits)."""
    if message.menu is not None:
        return 1
    chunks = card_chunks(message)
    text = 1 if chunks and overflows(message) else 0  # the text a card cannot hold
    if message.edit_message_id:  # an update in place (or, without a code, a new message)
        return max(1, len(chunks)) + text
    count = len(message.album) + (1 if message.photo else 0) + (1 if message.document else 0)
    if not chunks:
        return count + (1 if message.text or not count else 0)
    return count + len(chunks) + text
