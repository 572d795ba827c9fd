"""The sizes WeCom's messages are fitted into, in one table: what a template card's fields
hold, how many buttons a card takes, how long a text message may be.

Where each value comes from is said beside it. None was checked against WeCom's live API
documentation (developer.work.weixin.qq.com, 发送应用消息 and 更新模版卡片消息) when it was
written down: every value below is unverified. Most are the figures WeCom's documentation is
recalled to give as recommendations ("建议不超过 N 个字"), counted in characters; what WeCom
does past them (cut, refuse, or show all) is not known here, so the channel stays within them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WecomLimits:
    """The table; `LIMITS` is the one instance the channel reads."""

    # main_title.title of a template card, characters: recalled from the template_card
    # fields of 发送应用消息 ("建议不超过36个字"). Unverified.
    title: int = 36
    # main_title.desc, characters: recalled from the same table ("建议不超过44个字"). Unverified.
    desc: int = 44
    # sub_title_text, characters: recalled from the same table ("建议不超过112个字"; the
    # group robots' card documents the same figure). Unverified.
    subtitle: int = 112
    # button_list of a button_interaction card, buttons: recalled ("列表长度不超过6").
    # Unverified.
    buttons_per_card: int = 6
    # A button's text, characters: this channel's own figure since it was written; the
    # documentation is recalled to recommend shorter labels. Unverified.
    button_text: int = 20
    # A text message's content, UTF-8 bytes: recalled from 发送应用消息 ("最长不超过2048个字节，
    # 超过将截断"). Unverified.
    text_bytes: int = 2048
    # The grey text that replaces a card's buttons (replace_text of an updated card),
    # characters: no figure is known; 40 is this channel's own guess. Unverified.
    replace_text: int = 40


LIMITS = WecomLimits()
