"""Why a reply reached Telegram twice after the bot process was SIGKILLed (bench/chaos_kill.py).

The fake Bot API notes, for every message it shows in a chat, when it took it and which bot
process sent it: the one running then, or, between a kill and the next process's hello (getMe,
a second or more later), the killed one: a request it wrote before it died may be read by the
fake only after the kill. (Client ports tell nothing: a killed process's connections end
without TIME_WAIT, and the next process may get the same ports at once.)

Each extra copy (a reply Telegram got twice) is paired with its first copy, sent by a process
that was then killed, and counted for that kill as
- delivered: the fake had answered the first copy before the kill (sent, answer back, but not
  yet recorded as sent: a mark waiting, or an answer waiting behind a busy event loop);
- in flight: the fake took the first copy only after the kill (the request was on its way).
"""

from __future__ import annotations

import socket
import statistics
import time
from collections import Counter, defaultdict
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from bot.db import create_engine, session_factory
from models import OutboxMessage, OutboxStatus
from tests.fakes.bot_api import FakeBotAPI, texts


class CountingBotAPI(FakeBotAPI):
    """The fake Bot API, counting how often getUpdates handed out each update, and noting
    when and from which bot process (generation: 0 for the first, +1 per restart) each
    message came."""

    def __init__(self) -> None:
        super().__init__()
        self.served: Counter[int] = Counter()
        self.generation = 0
        self.kill_times: list[float] = []  # monotonic, just before each SIGKILL
        self.arrivals: dict[tuple[str, int], tuple[float, int]] = {}  # message: (when, gen)
        self._dying = False

    def killing(self) -> None:
        """The bench is about to SIGKILL the bot process."""
        self.kill_times.append(time.monotonic())
        self._dying = True  # a process killed before its hello sent nothing: skip its number

    async def _api(self, request: web.Request) -> web.Response:
        if self._dying and request.match_info.get("method", "").lower() == "getme":
            self.generation = len(self.kill_times)  # the next process says hello
            self._dying = False
        return await super()._api(request)

    def _message(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = super()._message(p, **content)
        key = (str(p["chat_id"]), message["message_id"])
        self.arrivals[key] = (time.monotonic(), self.generation)
        return message

    async def _m_getupdates(self, p: dict[str, Any]) -> Any:
        updates = await super()._m_getupdates(p)
        self.served.update(update["update_id"] for update in updates)
        return updates


async def held_by(url: str, pid: int) -> int:
    """Telegram outbox rows the process `pid` held ('sending', leased by it)."""
    worker = f"{socket.gethostname()}-{pid}"
    db = create_engine(url, pool_size=1)
    try:
        async with session_factory(db)() as session:
            return int(
                (
                    await session.execute(
                        select(func.count()).where(
                            OutboxMessage.status == OutboxStatus.sending,
                            OutboxMessage.leased_by == worker,
                        )
                    )
                ).scalar_one()
            )
    finally:
        await db.dispose()


def _pairs(
    api: CountingBotAPI, expected: dict[str, Counter[str]]
) -> list[tuple[tuple[float, int], tuple[float, int]]]:
    """(first copy, extra copy) as (when, generation), for every text a chat got too often."""
    pairs = []
    for chat_id, wanted in expected.items():
        messages = api.messages.get(chat_id, [])
        copies: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for message, text in zip(messages, texts(messages), strict=True):
            copies[text].append(api.arrivals.get((chat_id, message["message_id"]), (0.0, -1)))
        for text, seen in copies.items():
            extra = len(seen) - wanted.get(text, 0)
            if extra <= 0:
                continue
            used: set[int] = set()
            for later in range(len(seen) - extra, len(seen)):
                earlier = [
                    i for i in range(later) if i not in used and 0 <= seen[i][1] < seen[later][1]
                ]
                if earlier:
                    used.add(earlier[-1])
                    pairs.append((seen[earlier[-1]], seen[later]))
                else:
                    pairs.append(((0.0, -1), seen[later]))
    return pairs


def resent_by_kill(
    api: CountingBotAPI, expected: dict[str, Counter[str]]
) -> tuple[list[dict[str, Any]], int]:
    """Per kill: the extra copies whose first copy the killed process sent, split into
    delivered before the kill and in flight at it (with how long before the kill the
    delivered ones were answered); and the extra copies no kill explains."""
    kills: list[dict[str, Any]] = [
        {"delivered": 0, "in_flight": 0, "ages_ms": []} for _ in api.kill_times
    ]
    unexplained = 0
    for (first_at, generation), _extra in _pairs(api, expected):
        if not 0 <= generation < len(api.kill_times):
            unexplained += 1
            continue
        killed_at = api.kill_times[generation]
        figures = kills[generation]
        if first_at < killed_at:
            figures["delivered"] += 1
            figures["ages_ms"].append((killed_at - first_at) * 1000)
        else:
            figures["in_flight"] += 1
    for figures in kills:
        ages = figures.pop("ages_ms")
        figures["delivered_age_ms"] = {
            "median": round(statistics.median(ages)) if ages else None,
            "max": round(max(ages)) if ages else None,
        }
    return kills, unexplained
