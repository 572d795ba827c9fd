"""Residents through the whole report flow on the in-product test channel.

Each resident onboards (6 turns: /start, four address buttons, no phone) and reports a
request (2 turns: the words, then 提交 on the draft). Prints the figures per database and,
last, one JSON line: {"sqlite_turns_per_s": ..., "postgres_turns_per_s": ...}.
Usage: python bench/intake_core.py [--residents N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid

from bot import migrate
from bot.channels.testing import TestChannel, TestChat
from bot.config import load_settings
from bot.core.engine import Engine
from bot.db import create_engine, session_factory
from bot.outbox import Sender
from bot.runtime import settle_heap
from bot.services.cases import classify
from bot.services.org.importer import load_demo
from handlers import build_router

PG_ADMIN = os.environ.get(
    "REDGRID_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


class Counter:
    def __init__(self) -> None:
        self.turns = 0


async def resident(chat: TestChat, counter: Counter, index: int) -> None:
    async def send(text: str) -> None:
        await chat.send(text)
        counter.turns += 1

    async def press(label: str) -> None:
        await chat.press(label)
        counter.turns += 1

    await send("/start")
    for label in ("潮海街道", "和顺社区", "海盛·新阳光地带", "17号楼"):
        await press(label)
    await press("跳过")
    await send("楼道灯坏了好几天了，晚上黑漆漆的")
    await press("✅ 提交")
    assert any("JM-" in t for t in chat.texts), chat.texts


async def run(url: str, residents: int, concurrency: int) -> dict[str, float]:
    settings = load_settings(database={"url": url})
    engine_db = create_engine(url)
    await migrate.upgrade(engine_db)
    sessions = session_factory(engine_db)
    async with sessions() as session, session.begin():
        await load_demo(session)
    channel = TestChannel()
    outbox = settings.outbox.model_copy(update={"global_rate": 1e6, "chat_rate": 1e6})
    sender = Sender(
        sessions=sessions,
        channels={"test": channel},
        settings=outbox,
        tz=settings.tz,
        worker_id="bench",
        record_delay=0.05,  # as `redgrid run` does
    )
    engine = Engine(
        sessions=sessions,
        settings=settings,
        router=build_router(),
        outputs={"test": channel},
        sender=sender,
    )
    classify.warm_up()
    settle_heap()  # as `redgrid run` does after start-up
    counter = Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(residents):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await resident(TestChat(engine, channel, user_id=f"bench-{i}"), counter, i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await sender.flush_reply_marks()
    await engine_db.dispose()
    return {
        "turns": counter.turns,
        "seconds": round(elapsed, 3),
        "turns_per_s": round(counter.turns / elapsed, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--pg-concurrency", type=int, default=16)
    args = parser.parse_args()
    results: dict[str, float | None] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite = await run(
            f"sqlite+aiosqlite:///{folder}/bench.sqlite3", args.residents, args.concurrency
        )
    print("sqlite", sqlite)
    results["sqlite_turns_per_s"] = sqlite["turns_per_s"]
    try:
        import asyncpg
        from sqlalchemy.engine import make_url

        base = make_url(PG_ADMIN)
        name = f"redgrid_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(
            host=base.host, port=base.port or 5432, user=base.username, database=base.database
        )
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = base.set(database=name).render_as_string(hide_password=False)
            pg = await run(url, args.residents, args.pg_concurrency)
            print("postgres", pg)
            results["postgres_turns_per_s"] = pg["turns_per_s"]
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    except OSError as exc:
        print(f"postgres skipped: {exc}")
        results["postgres_turns_per_s"] = None
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
