"""Updates that carry the right secret but are not what Telegram sends (no chat, ids that are
not integers, not JSON, not an object): refused for good in one log line, never answered."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from bot.config import Settings
from tests.conftest import Clock
from tests.e2e.conftest import SECRET, build_rig

if TYPE_CHECKING:
    from tests.conftest import TestDB

MARK = "PAYLOAD-MARK-13812345678"


def _message(chat: Any = None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": 7, "date": 0, "text": f"/start {MARK}", **extra}
    if chat is not None:
        message["chat"] = chat
    return message


MALFORMED: list[Any] = [
    {"update_id": 900001, "message": _message(**{"from": {"id": 6001}})},
    {"update_id": 900002, "message": _message({"id": "abc", "type": "private"})},
    {"update_id": 900003, "message": _message({"id": 1.5, "type": "private"})},
    {"update_id": 900004, "message": _message({"id": [6001], "type": "private"})},
    {"update_id": 900005, "message": "a string where a message goes"},
    {"update_id": "900006", "message": _message({"id": 6001, "type": "private"})},
    {
        "update_id": 900007,
        "callback_query": {
            "id": "q1",
            "from": {"id": "6001"},
            "data": MARK,
            "message": _message({"id": "x6001", "type": "private"}),
        },
    },
    {"update_id": 900008, "callback_query": {"from": {"id": 6001}, "data": MARK}},
    {
        "update_id": 900009,
        "my_chat_member": {"chat": {"id": "6001", "type": "private"}, "from": {"id": 6001}},
    },
]
NOT_AN_UPDATE = [f"{MARK} not json".encode(), b"[1, 2, 3]", json.dumps(MARK).encode(), b"7"]


def _body(update: dict[str, Any]) -> bytes:
    return json.dumps(update).encode()


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("bot.channels")]


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_malformed_webhook_update_gets_400_and_one_line(
    framework: str,
    demo: TestDB,
    settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = await build_rig(framework, "webhook", demo, settings, clock)
    await rig.start_webhook()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for body in [*(_body(u) for u in MALFORMED), *NOT_AN_UPDATE]:
                caplog.clear()
                with caplog.at_level(logging.DEBUG):
                    response = await http.post(rig.webhook_url, content=body, headers=headers)
                assert response.status_code == 400, body
                lines = _lines(caplog)
                assert len(lines) == 1, (body, lines)
                assert MARK not in lines[0] and "13812345678" not in lines[0]
        sends = [c for c in rig.api.calls if c.method.lower().startswith(("send", "edit"))]
        assert sends == []
        # The bot still answers a well-formed update after them.
        sent = await rig.user().send("/start")
        assert sent and "红网格" in sent[0]["text"]
    finally:
        await rig.close()


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_a_malformed_polled_update_is_confirmed_and_never_answered(
    framework: str,
    demo: TestDB,
    settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = await build_rig(framework, "polling", demo, settings, clock)
    await rig.start_polling()
    try:
        with caplog.at_level(logging.DEBUG):
            for update in MALFORMED[:4]:
                update_id = await rig.api.push({"message": update["message"]})
                await rig.api.wait_confirmed(update_id, within=5)
        lines = _lines(caplog)
        assert len(lines) == 4 and not any(MARK in line for line in lines), lines
        sends = [c for c in rig.api.calls if c.method.lower().startswith(("send", "edit"))]
        assert sends == []
        sent = await rig.user().send("/start")
        assert sent and "红网格" in sent[0]["text"]
    finally:
        await rig.close()
