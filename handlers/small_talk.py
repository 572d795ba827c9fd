"""Words that are not a report: a greeting or asking for the menu ("你好", "菜单") shows the
main menu; thanks are acknowledged. On WeChat, where people do not type commands, these are
how residents find their way; they never start a draft request."""

from __future__ import annotations

import re

MENU_WORDS = frozenset(
    {"菜单", "帮助", "你好", "您好", "在吗", "在不在", "hi", "hello", "hey", "menu", "help", "开始"}
)
THANKS = frozenset(
    {"谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "非常感谢", "thanks", "thank you", "thx", "ty"}
)
_TRIM = re.compile(r"[\s!！。.,，~～?？、]+")


def _plain(text: str) -> str:
    return _TRIM.sub(" ", text).strip().lower()


def is_menu_word(text: str) -> bool:
    return _plain(text) in MENU_WORDS


def is_thanks(text: str) -> bool:
    words = _plain(text)
    return words in THANKS or words.replace(" ", "") in THANKS
