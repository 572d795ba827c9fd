"""Both frameworks say exactly what the conversation core says through the in-product channel."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.channels.testing import TestChannel, TestChat
from bot.config import Settings
from tests.conftest import Clock
from tests.e2e.conftest import build_rig, make_telegram_engine
from tests.fakes.bot_api import FakeBotAPI, parse_html
from tests.handlers.journey import onboard, report_light

if TYPE_CHECKING:
    from tests.conftest import TestDB

Transcript = list[tuple[str, tuple[str, ...]]]


def _normalise(text: str) -> str:
    # References come from a PostgreSQL sequence, which a rollback does not rewind.
    return re.sub(r"JM-\d{4}-\d{6}", "JM-REF", text)


def _labels(markup: Any) -> tuple[str, ...]:
    rows = (markup or {}).get("inline_keyboard") or []
    return tuple(_normalise(button["text"]) for row in rows for button in row)


def telegram_transcript(api: FakeBotAPI, chat_id: str) -> Transcript:
    """What the bot sent to a chat, as the person reads it (the reply-keyboard hints left out)."""
    out: Transcript = []
    for call in api.calls:
        if call.status != 200 or str(call.params.get("chat_id")) != chat_id:
            continue
        markup = call.params.get("reply_markup") or {}
        if call.method == "sendMessage":
            text = parse_html(str(call.params["text"]))
            hint = "  ".join(b["text"] for row in markup.get("keyboard", []) for b in row)
            if hint and text == hint:
                continue
            out.append((_normalise(text), _labels(markup)))
        elif call.method == "editMessageReplyMarkup" and _labels(markup):
            text, _ = out[-1]
            out[-1] = (text, _labels(markup))
    return out


async def _journey(chat: Any) -> None:
    await onboard(chat)
    await report_light(chat)
    await chat.send("/my")


async def test_same_replies_on_both_frameworks_as_on_the_core(
    mode: str, demo: TestDB, settings: Settings, clock: Clock
) -> None:
    # Each run starts from the same database state, so "similar request" prompts match too.
    channel = TestChannel(name="telegram")
    engine, _ = make_telegram_engine(demo, settings, clock, channel)
    core_chat = TestChat(engine, channel, user_id="3001", display_name="居民")
    run = await demo.connection.begin_nested()
    await _journey(core_chat)
    await run.rollback()
    expected: Transcript = [
        (_normalise(m.text), tuple(_normalise(b.label) for row in m.buttons for b in row))
        for m in channel.sent["3001"]
    ]
    assert len(expected) >= 10  # the whole journey, not a few replies
    for framework in ("ptb", "aiogram"):
        rig = await build_rig(framework, mode, demo, settings, clock)
        if mode == "polling":
            await rig.start_polling()
        else:
            await rig.start_webhook()
        run = await demo.connection.begin_nested()
        try:
            user = rig.user()
            await _journey(user)
            assert telegram_transcript(rig.api, user.chat_id) == expected, framework
        finally:
            await rig.close()
            await run.rollback()
