"""The service account's custom menu and its compounds' permanent QR codes.

Menu: 新诉求, 我的诉求, 更多 (帮助 / 隐私 / 语言); each CLICK key is the command of that name
(see inbound.CLICK_COMMANDS). QR codes: permanent, with the scene `c_<compound id>`, so that
following or scanning starts onboarding at that compound, like `/start c_<id>`.
"""

from __future__ import annotations

from typing import Any

from bot.channels.wechat.outbound import WechatChannel
from bot.i18n import t

MENU_CREATE = "/cgi-bin/menu/create"
QRCODE_CREATE = "/cgi-bin/qrcode/create"


def menu_body(locale: str) -> dict[str, Any]:
    """The menu, labelled in `locale`."""

    def click(key: str) -> dict[str, str]:
        return {"type": "click", "name": t(locale, f"wechat.menu_{key}"), "key": key}

    more = [click("help"), click("privacy"), click("language")]
    return {
        "button": [
            click("new"),
            click("my"),
            {"name": t(locale, "wechat.menu_more"), "sub_button": more},
        ]
    }


async def set_menu(channel: WechatChannel, locale: str) -> dict[str, Any]:
    """Set the account's menu; returns what was sent."""
    body = menu_body(locale)
    await channel.call(MENU_CREATE, body)
    return body


def compound_scene(compound_id: int) -> str:
    return f"c_{compound_id}"


async def compound_qr(channel: WechatChannel, compound_id: int) -> str:
    """A permanent parametric QR code for the compound; returns the URL it encodes."""
    body = {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": compound_scene(compound_id)}},
    }
    answer = await channel.call(QRCODE_CREATE, body)
    return str(answer["url"])
