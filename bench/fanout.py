"""Fan-out: deliver N pushes (one per chat) through the paced sender to a loopback fake of
Telegram's sendMessage that answers 429 whenever the bot goes over its limits.

Stand-in until the shared fake Telegram server exists. Prints one JSON object as its last line.
Usage: python bench/fanout.py [--rows 3000] [--rate 500] [--postgres | --database URL]
(--database must name an EMPTY migrated-or-new database; --postgres makes a throwaway one.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientSession, ClientTimeout, web
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import migrate, outbox
from bot.channels.base import SendResult
from bot.config import OutboxSettings
from bot.core.messages import Outgoing
from bot.db import create_engine, session_factory
from models import OutboxMessage

TOKEN = "123456:BENCH"


class FakeTelegram:
    """sendMessage with a sliding one-second window: over `rate` messages/s overall or over
    one message/s in a chat, it answers 429 with retry_after."""

    def __init__(self, rate: float, expected: int) -> None:
        self.rate = rate
        self.expected = expected
        self.all_delivered = asyncio.Event()
        self.window: deque[float] = deque()
        self.last_in_chat: dict[str, float] = {}
        self.delivered: Counter[str] = Counter()
        self.too_many = 0

    async def send_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = str(body["chat_id"])
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.rate or now - self.last_in_chat.get(chat, -9.0) < 1.0:
            self.too_many += 1
            return web.json_response(
                {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}, status=429
            )
        self.window.append(now)
        self.last_in_chat[chat] = now
        self.delivered[body["text"]] += 1
        message_id = sum(self.delivered.values())
        if len(self.delivered) >= self.expected:
            self.all_delivered.set()
        return web.json_response({"ok": True, "result": {"message_id": message_id}})


class HttpChannel:
    """The smallest Telegram-like OutputChannel: POST sendMessage, map the answer."""

    name = "telegram"
    supports_buttons = False

    def __init__(self, http: ClientSession, base: str) -> None:
        self.http = http
        self.url = f"{base}/bot{TOKEN}/sendMessage"

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        async with self.http.post(self.url, json={"chat_id": chat_id, "text": message.text}) as r:
            data: dict[str, Any] = await r.json()
        if data.get("ok"):
            return SendResult(ok=True, message_id=str(data["result"]["message_id"]))
        if r.status == 429:
            return SendResult(ok=False, retry_after=data["parameters"]["retry_after"], error="429")
        return SendResult(ok=False, error=str(r.status))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(rows: int, rate: float, database: str | None, postgres: bool) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory()
    url = database or f"sqlite+aiosqlite:///{tmp.name}/fanout.sqlite3"
    throwaway = None
    if postgres:
        from tests.conftest import create_postgres_database

        url, throwaway = await create_postgres_database("redgrid_bench")
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(
            insert(OutboxMessage),
            [
                {"channel": "telegram", "chat_id": str(1000 + n), "payload": {"text": str(n)}}
                for n in range(rows)
            ],
        )

    fake = FakeTelegram(rate, rows)
    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/sendMessage", fake.send_message)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    stop = asyncio.Event()
    async with ClientSession(timeout=ClientTimeout(total=10)) as http:
        channel = HttpChannel(http, f"http://127.0.0.1:{port}")
        settings = OutboxSettings(global_rate=rate, quiet_start="00:00", quiet_end="00:00")
        sender = outbox.Sender(
            sessions,
            {"telegram": channel},
            settings,
            ZoneInfo("Asia/Shanghai"),
            worker_id="bench",
            poll_interval=0.05,
        )

        async def watch() -> None:
            await fake.all_delivered.wait()
            stop.set()

        started = time.perf_counter()
        await asyncio.gather(sender.run(stop), watch())
        elapsed = time.perf_counter() - started
    await runner.cleanup()
    await engine.dispose()
    tmp.cleanup()
    if throwaway:
        from tests.conftest import drop_postgres_database

        await drop_postgres_database(throwaway)
    return {
        "bench": "fanout",
        "database": url.split(":")[0],
        "rows": rows,
        "rate_limit": rate,
        "seconds": round(elapsed, 3),
        "delivered_per_s": round(len(fake.delivered) / elapsed, 1),
        "limit_per_s": rate,
        "fraction": round(len(fake.delivered) / elapsed / rate, 3),
        "http_429": fake.too_many,
        "lost": rows - len(fake.delivered),
        "duplicates": sum(1 for count in fake.delivered.values() if count > 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=300.0, help="bot-wide messages/s")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.rows, args.rate, args.database, args.postgres))))
