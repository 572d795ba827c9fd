"""Outgoing messages as WeChat bodies: text with numbered choices, menu messages (msgmenu)
whose item ids are the buttons' data, template messages for pushes outside the window."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bot.config_channels import WechatTemplate
from bot.i18n import t
from bot.messages import Outgoing, numbered_choices

# WeChat's menu message shows a handful of items; more become numbered text.
MAX_MENU_ITEMS = 10
_REFERENCE = re.compile(r"\b[A-Z]{1,6}-\d{4}-\d{6}\b")


def text_of(message: Outgoing) -> str:
    """The message as plain text: buttons as numbered choices."""
    return numbered_choices(message)


def custom_body(openid: str, message: Outgoing) -> dict[str, Any]:
    """A customer-service message: a menu message when it has buttons (each item's id is
    its button's data, so a tap is that press, checked like any), else text."""
    items = [button for row in message.buttons for button in row]
    if items and len(items) <= MAX_MENU_ITEMS:
        return {
            "touser": openid,
            "msgtype": "msgmenu",
            "msgmenu": {
                "head_content": message.text,
                "list": [{"id": button.data, "content": button.label} for button in items],
                "tail_content": "",
            },
        }
    return {"touser": openid, "msgtype": "text", "text": {"content": text_of(message)}}


def template_body(
    openid: str, message: Outgoing, template: WechatTemplate, locale: str
) -> dict[str, Any]:
    """A template message naming the request's reference and inviting a reply; its
    client_msg_id (the same for the same push) lets WeChat drop a resend."""
    text = message.text
    found = _REFERENCE.search(text)
    values = {
        "reference": found.group(0) if found else "",
        "text": text if len(text) <= 100 else text[:99] + "…",
        "invite": t(locale, "wechat.template_invite"),
    }
    data = {name: {"value": value.format(**values)} for name, value in template.fields.items()}
    digest = hashlib.sha256(f"{openid}\n{text}".encode()).hexdigest()[:32]
    return {
        "touser": openid,
        "template_id": template.template_id,
        "data": data,
        "client_msg_id": digest,
    }


def passive_xml(*, openid: str, account: str, text: str, now: int) -> str:
    """A passive text reply (before encryption)."""
    from wechatpy.replies import TextReply

    reply = TextReply(source=account, target=openid, content=text, time=now)
    return str(reply.render())
