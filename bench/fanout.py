"""Fan-out: deliver N pushes (one per chat) through the paced sender and a real Telegram
adapter to the fake Bot API (tests/fakes/bot_api.py), which answers 429 whenever the bot goes
over Telegram's limits (`--rate` messages in any one-second window, one per chat per second).

The fake runs in a process of its own, as Telegram is on another machine: the sender's figures
are then not the fake's CPU time. Prints one JSON object as its last line.
Usage: python bench/fanout.py [--rows 10000] [--rate 300] [--framework aiogram|ptb]
       [--postgres | --database URL]
(--database must name an EMPTY migrated-or-new database; --postgres makes a throwaway one.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import migrate, outbox
from bot.channels.telegram_runtime import make_client
from bot.config import OutboxSettings
from bot.config_channels import TelegramSettings
from bot.db import create_engine, session_factory
from models import OutboxMessage
from tests.fakes.bot_api import TOKEN, FakeBotAPI


def serve_fake(rate: float, conn: Connection) -> None:
    """The fake Bot API with flood limits, until the parent asks for its figures."""

    async def serve() -> None:
        api = FakeBotAPI()
        flood = api.flood_limits(per_second=rate)
        await api.start()
        conn.send(api.port)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        texts = Counter(m.get("text") for chat in api.messages.values() for m in chat)
        conn.send(
            {
                "delivered": len(texts),
                "duplicates": sum(1 for count in texts.values() if count > 1),
                "http_429": flood.too_many,
            }
        )
        await api.close()

    asyncio.run(serve())


async def unsent(sessions: Any) -> int:
    async with sessions() as session:
        query = select(func.count()).where(OutboxMessage.status != "sent")
        return int((await session.execute(query)).scalar_one())


async def main(
    rows: int,
    rate: float,
    framework: Literal["ptb", "aiogram"],
    database: str | None,
    postgres: bool,
) -> dict[str, Any]:
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

    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=serve_fake, args=(rate, child))
    process.start()
    port = parent.recv()
    telegram = TelegramSettings(
        token=SecretStr(TOKEN), framework=framework, api_base_url=f"http://127.0.0.1:{port}"
    )
    channel = make_client(telegram)
    await channel.start()
    settings = OutboxSettings(global_rate=rate, quiet_start="00:00", quiet_end="00:00")
    sender = outbox.Sender(
        sessions,
        {"telegram": channel},
        settings,
        ZoneInfo("Asia/Shanghai"),
        worker_id="bench",
        poll_interval=0.05,
    )
    stop = asyncio.Event()

    async def watch() -> None:
        # The outbox is what is left to do: look at it every 100 ms.
        while True:
            if not await unsent(sessions):
                stop.set()
                return
            await asyncio.sleep(0.1)

    started = time.perf_counter()
    await asyncio.gather(sender.run(stop), watch())
    elapsed = time.perf_counter() - started
    await channel.close()
    parent.send("stop")
    seen: dict[str, int] = parent.recv()
    process.join()
    await engine.dispose()
    tmp.cleanup()
    if throwaway:
        from tests.conftest import drop_postgres_database

        await drop_postgres_database(throwaway)
    return {
        "bench": "fanout",
        "framework": framework,
        "database": url.split(":")[0],
        "rows": rows,
        "seconds": round(elapsed, 3),
        "delivered_per_s": round(seen["delivered"] / elapsed, 1),
        "limit_per_s": rate,
        "fraction": round(seen["delivered"] / elapsed / rate, 3),
        "http_429": seen["http_429"],
        "lost": rows - seen["delivered"],
        "duplicates": seen["duplicates"],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=300.0, help="bot-wide messages/s")
    parser.add_argument("--framework", choices=["aiogram", "ptb"], default="aiogram")
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    args = parser.parse_args()
    figures = asyncio.run(main(args.rows, args.rate, args.framework, args.database, args.postgres))
    print(json.dumps(figures))
