"""Residents through the whole report flow on the in-product test channel.

Each resident onboards (6 turns: /start, four address buttons, no phone) and reports a
request (2 turns: the words, then 提交 on the draft). Prints the figures per database and,
last, one JSON line: {"sqlite_turns_per_s": ..., "postgres_turns_per_s": ...}.

`--as-run`: the sender and the engine are built as `redgrid run` builds them, this process a
worker among the database's (bot.workers: its heartbeat runs; on PostgreSQL the flood window
and the send budget are shared as `--sharing` says, the setting workers.shared); `--paced`
makes the test channel a vendor's whose limits the outbox keeps (a chat's turn before each
send). CPU per turn is this process's and, on PostgreSQL, its database backends'.
Usage: python bench/intake_core.py [--residents N] [--concurrency C] [--as-run]
       [--sharing auto|always|never] [--paced]
       [--rounds R] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import backends, cpu_seconds
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
from tests.conftest import create_postgres_database, drop_postgres_database


async def backends_cpu(engine_db: Any) -> float:
    """CPU so far of the PostgreSQL backends serving this database (0 on SQLite)."""
    if engine_db.dialect.name != "postgresql":
        return 0.0
    url = engine_db.url.render_as_string(hide_password=False)
    return sum(cpu_seconds(pid) for pid in await backends(url))


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


async def run(
    url: str, residents: int, concurrency: int, args: argparse.Namespace
) -> dict[str, float]:
    settings = load_settings(database={"url": url})
    outbox = settings.outbox.model_copy(update={"global_rate": 1e6, "chat_rate": 1e6})
    settings = settings.model_copy(update={"outbox": outbox})
    engine_db = create_engine(url)
    await migrate.upgrade(engine_db)
    sessions = session_factory(engine_db)
    async with sessions() as session, session.begin():
        await load_demo(session)
    channel = TestChannel()
    channel.rate_limited = args.paced
    stop = asyncio.Event()
    beating = None
    if args.as_run:
        from bot.runtime import engine_parts
        from bot.workers import Workers

        shared = engine_db.dialect.name == "postgresql"
        workers = Workers(sessions, "bench", shared=shared, sharing=args.sharing)
        await workers.beat()  # as `redgrid run` does before it starts its parts
        beating = asyncio.create_task(workers.run(stop))
        sender, engine, _ = engine_parts(settings, sessions, {"test": channel}, workers)
    else:
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

    database_cpu = await backends_cpu(engine_db)
    own_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    own_cpu = time.process_time() - own_cpu
    database_cpu = await backends_cpu(engine_db) - database_cpu
    await sender.flush_reply_marks()
    stop.set()
    if beating is not None:
        await beating
    await engine_db.dispose()
    return {
        "turns": counter.turns,
        "seconds": round(elapsed, 3),
        "turns_per_s": round(counter.turns / elapsed, 1),
        "cpu_ms_per_turn": round(own_cpu * 1000 / counter.turns, 2),
        "db_cpu_ms_per_turn": round(database_cpu * 1000 / counter.turns, 2),
    }


async def on_postgres(args: argparse.Namespace) -> dict[str, float]:
    """One run on a fresh PostgreSQL database, dropped after."""
    url, name = await create_postgres_database("redgrid_bench")
    try:
        return await run(url, args.residents, args.pg_concurrency, args)
    finally:
        await drop_postgres_database(name)


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--pg-concurrency", type=int, default=16)
    parser.add_argument("--as-run", action="store_true", help="built as `redgrid run` builds it")
    parser.add_argument("--sharing", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--paced", action="store_true", help="the channel has vendor limits")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the medians are kept")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if not args.no_sqlite:
        sqlite = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
                sqlite.append(await run(url, args.residents, args.concurrency, args))
            print("sqlite", sqlite[-1])
        results["sqlite_turns_per_s"] = median(sqlite)["turns_per_s"]
    try:
        pg = []
        for _ in range(args.rounds):
            pg.append(await on_postgres(args))
            print("postgres", pg[-1])
        results["postgres_turns_per_s"] = median(pg)["turns_per_s"]
        results["postgres"] = median(pg)
    except OSError as exc:
        print(f"postgres skipped: {exc}")
        results["postgres_turns_per_s"] = None
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
