"""Several `redgrid run` workers on one PostgreSQL database: the same Telegram webhook load with
1, 2 and 4 workers.

The bench hosts the fake Telegram Bot API (tests/fakes/bot_api.py). For each worker count it
makes a fresh PostgreSQL database (migrated, demo district imported, as redgrid-migrate does),
starts that many `python -m bot run` processes in webhook mode, and has `--residents`
residents (`--concurrency` at a time) each go through the chaos conversation (onboarding, one
report: bench/chaos.py), one update at a time, each POSTed to the next worker in turn
(round-robin, as nginx spreads them) and sent again to the next one when a worker answers 503.
Time runs from the first update to the last reply at the fake; CPU is the workers' processes
and the database's PostgreSQL backends (user + system, from /proc), divided by the updates.
The 1-worker run is the baseline in the same run. `--repeat` rounds interleave the counts
(1, 2, 4, 1, 2, 4, ...); the last line has each count's median.

Checked: every update has its processed-update row (`lost` counts those without, and replies
the outbox holds that never reached the fake); replies reaching the fake more often than the
outbox holds them are `duplicates`, unless their row had a failed attempt (a send that timed
out at our end can still have reached Telegram): those are `resent_after_error`; a chat
whose replies arrived in another order than the outbox's is an `order_violation`; `http_429`
counts the fake's 429 answers (the bot's send budget is raised: pacing protects Telegram, it
is not what is measured).

With `--sharing always` the lone worker shares its flood window and chat pace through the
database as several do: the figure for what more processes cost, apart from what sharing
costs (the shipped `auto` spares a lone worker the sharing).

Usage: python bench/workers.py [--workers 1 2 4] [--residents 300] [--concurrency 100]
       [--repeat 3] [--sharing auto|always]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.chaos import TEXT, demo_ids
from bench.chaos_kill import Resident, expected_texts, outbox_left, script
from bench.measure import backends, cpu_seconds
from bot.channels.telegram_common import CHANNEL, SECRET_HEADER
from bot.db import create_engine, session_factory
from models import OutboxMessage, ProcessedUpdate
from tests.conftest import PG_URL, create_postgres_database, drop_postgres_database
from tests.deploy.cluster import Deployment, Worker, prepare_database
from tests.fakes.bot_api import FakeBotAPI, texts

SECRET = "bench-webhook-secret"
FIRST_USER = 8_100_000


async def commits(url: str) -> int:
    """Transactions the bench's database has committed so far."""
    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", parsed.database
            )
        )
    finally:
        await conn.close()


class CPU:
    """CPU of the workers and of the database's backends between `start` and `stop`.

    Sampled every `every` seconds as well: a backend whose connection closes during the run
    (a pool's overflow) keeps the CPU it was last seen with, instead of vanishing from the sum.
    """

    def __init__(self, url: str, workers: list[Worker], every: float = 0.25) -> None:
        self.url, self.workers, self.every = url, workers, every
        self.before: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    def _workers(self) -> set[int]:
        return {w.process.pid for w in self.workers if w.process}

    async def _sample(self) -> dict[int, float]:
        pids = [*self._workers(), *await backends(self.url)]
        return {pid: cpu_seconds(pid) for pid in pids}

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            for pid, used in (await self._sample()).items():
                self.seen[pid] = max(used, self.seen.get(pid, 0.0))

    async def start(self) -> None:
        self.before = await self._sample()
        self.seen = dict(self.before)
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> tuple[float, float]:
        """CPU seconds since `start`: the workers', the database backends'."""
        assert self._task is not None
        self._task.cancel()
        for pid, used in (await self._sample()).items():
            self.seen[pid] = max(used, self.seen.get(pid, 0.0))
        spent = {pid: used - self.before.get(pid, 0.0) for pid, used in self.seen.items()}
        workers = self._workers()
        mine = sum(s for pid, s in spent.items() if pid in workers)
        return mine, sum(spent.values()) - mine


class Load:
    """Residents' updates, round-robin over the workers' webhooks."""

    def __init__(self, api: FakeBotAPI, ports: list[int], steps: list[tuple[str, str]]) -> None:
        self.api, self.ports, self.steps = api, ports, steps
        self.turn = itertools.count()
        self.update_ids = itertools.count(1)
        self.sent: list[int] = []
        self.retried = 0
        self.http: aiohttp.ClientSession | None = None

    async def post(self, update: dict[str, Any]) -> None:
        assert self.http is not None
        for _ in range(100):
            port = self.ports[next(self.turn) % len(self.ports)]
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            try:
                async with self.http.post(
                    url, json=update, headers={SECRET_HEADER: SECRET}
                ) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            self.retried += 1
            await asyncio.sleep(0.05)
        raise RuntimeError(f"update {update['update_id']} never taken")

    async def converse(self, user_id: int) -> None:
        resident = Resident(self.api, user_id)
        for kind, value in self.steps:
            update = {"update_id": next(self.update_ids), **resident.payload(kind, value)}
            self.sent.append(update["update_id"])
            await self.post(update)

    async def run(self, users: list[int], concurrency: int) -> None:
        queue = list(users)

        async def lane() -> None:
            while queue:
                await self.converse(queue.pop(0))

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as self.http:
            await asyncio.gather(*(lane() for _ in range(concurrency)))


def worker_settings(api: FakeBotAPI, pool_size: int, sharing: str = "auto") -> dict[str, str]:
    return {
        "REDGRID_WORKERS__SHARED": sharing,
        "REDGRID_TELEGRAM__TOKEN": api.token,
        "REDGRID_TELEGRAM__API_BASE_URL": api.base_url,
        "REDGRID_TELEGRAM__MODE": "webhook",
        # Where the fake would deliver; the bench POSTs itself, round-robin.
        "REDGRID_TELEGRAM__WEBHOOK_URL": "http://127.0.0.1:9/telegram/webhook",
        "REDGRID_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "REDGRID_OUTBOX__GLOBAL_RATE": "100000",
        "REDGRID_OUTBOX__CHAT_RATE": "100000",
        "REDGRID_DATABASE__POOL_SIZE": str(pool_size),
    }


async def check(url: str, api: FakeBotAPI, sent: list[int]) -> dict[str, int]:
    """Lost, duplicated and reordered, from the database and the fake's record.

    A reply the fake got more often than the outbox holds it is `resent_after_error` when its
    row had a failed attempt (a send that timed out at our end may have reached Telegram, which
    has no idempotency key: at least once, by design), else a `duplicate` (a bug).
    """
    db = create_engine(url, pool_size=1)
    async with session_factory(db)() as session:
        processed = set(
            (
                await session.execute(
                    select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == CHANNEL)
                )
            ).scalars()
        )
        rows = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.payload, OutboxMessage.last_error)
                .where(OutboxMessage.channel == CHANNEL)
                .order_by(OutboxMessage.id)
            )
        ).all()
    await db.dispose()
    expected: dict[str, list[str]] = {}
    failed_once: set[tuple[str, str]] = set()  # (chat, text) of rows with a failed attempt
    for chat_id, payload, last_error in rows:
        shown = expected_texts(payload)
        expected.setdefault(chat_id, []).extend(shown)
        if last_error:
            failed_once.update((chat_id, text) for text in shown)
    lost = sum(1 for update_id in sent if str(update_id) not in processed)
    duplicates = resent = violations = 0
    for chat_id, wanted in expected.items():
        got = texts(api.messages.get(chat_id, []))
        lost += sum((Counter(wanted) - Counter(got)).values())
        extra = Counter(got) - Counter(wanted)
        for text, count in extra.items():
            if (chat_id, text) in failed_once:
                resent += count
            else:
                duplicates += count
                print(f"chat {chat_id}: sent {count} more time(s) than the outbox holds: {text!r}")
        # Order: the chat's replies as the outbox holds them, each copy after the first aside.
        firsts = [text for i, text in enumerate(got) if text not in got[:i]]
        if Counter(firsts) == Counter(wanted) and firsts != wanted:
            violations += 1
    return {
        "lost": lost,
        "duplicates": duplicates,
        "resent_after_error": resent,
        "order_violations": violations,
    }


async def one(count: int, args: argparse.Namespace) -> dict[str, Any]:
    """The load on `count` workers, on a database of its own."""
    url, name = await create_postgres_database("redgrid_bench_workers")
    api = FakeBotAPI()
    await api.start()
    try:
        with tempfile.TemporaryDirectory(prefix="redgrid-workers-") as folder:
            workdir = Path(folder)
            await asyncio.to_thread(prepare_database, url, workdir)
            db = create_engine(url, pool_size=1)
            steps = script({**await demo_ids(session_factory(db)), "text": TEXT})
            await db.dispose()
            cluster = Deployment(url, workdir, worker_count=count)
            cluster.extra_env = worker_settings(api, args.pool_size, args.sharing)
            cluster.workers = [Worker(port) for port in free_ports(count)]
            (workdir / "uploads").mkdir()
            await asyncio.gather(*(cluster.start_worker(w) for w in cluster.workers))
            try:
                return await measure(cluster, api, steps, args)
            finally:
                await cluster.stop()
                if args.logs:
                    keep_logs(workdir, Path(args.logs) / f"{count}-workers")
    finally:
        await api.close()
        await drop_postgres_database(name)


def keep_logs(workdir: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("worker-*.log"):
        shutil.copy(log, folder / log.name)


def free_ports(count: int) -> list[int]:
    from tests.deploy.cluster import free_port

    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


async def measure(
    cluster: Deployment, api: FakeBotAPI, steps: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    load = Load(api, [w.port for w in cluster.workers], steps)
    # Warm-up, not timed: lazy imports, first statements, the pools' connections.
    await load.run([FIRST_USER - 1 - i for i in range(args.warm_up)], args.warm_up)
    await outbox_left(cluster.db_url, limit_s=60)
    warm = len(load.sent)
    cpu = CPU(cluster.db_url, cluster.workers)
    await cpu.start()
    committed = await commits(cluster.db_url)
    driver = time.process_time()
    started = time.perf_counter()
    await load.run([FIRST_USER + i for i in range(args.residents)], args.concurrency)
    left = await outbox_left(cluster.db_url, limit_s=120)
    seconds = time.perf_counter() - started
    driver = time.process_time() - driver
    worker_s, database_s = await cpu.stop()
    # The statistics collector reports a moment late: enough for a per-turn figure.
    await asyncio.sleep(0.6)
    committed = await commits(cluster.db_url) - committed
    cpu_s = worker_s + database_s
    turns = len(load.sent) - warm
    figures = await check(cluster.db_url, api, load.sent)
    return {
        "workers": len(cluster.workers),
        "turns": turns,
        "seconds": round(seconds, 2),
        "turns_per_s": round(turns / seconds, 1),
        "cpu_ms_per_turn": round(1000 * cpu_s / turns, 2),
        "worker_cpu_ms_per_turn": round(1000 * worker_s / turns, 2),
        "database_cpu_ms_per_turn": round(1000 * database_s / turns, 2),
        "commits_per_turn": round(committed / turns, 2),
        "retried_posts": load.retried,
        # The bench's own process (the load and the fake Bot API) shares the same two cores.
        "driver_cpu_share": round(driver / seconds, 2),
        "outbox_left": sum(left.values()),
        "http_429": sum(1 for call in api.calls if call.status == 429),
        **figures,
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one worker count: median figures; the checks summed over every round."""
    checks = (
        "lost",
        "outbox_left",
        "duplicates",
        "resent_after_error",
        "order_violations",
        "http_429",
    )
    return {
        "workers": runs[0]["workers"],
        "turns_per_s": round(statistics.median(r["turns_per_s"] for r in runs), 1),
        "cpu_ms_per_turn": round(statistics.median(r["cpu_ms_per_turn"] for r in runs), 2),
        **{key: sum(r[key] for r in runs) for key in checks},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median is kept")
    parser.add_argument(
        "--sharing",
        choices=["auto", "always", "never"],
        default="auto",
        help="workers.shared: as shipped (auto: a lone worker shares nothing), or always",
    )
    parser.add_argument("--logs", default="", help="keep the workers' logs in this folder")
    args = parser.parse_args()
    if PG_URL is None:
        raise SystemExit("bench/workers.py needs PostgreSQL (REDGRID_TEST_POSTGRES_URL)")
    # Rounds interleave the worker counts (1, 2, 4, 1, 2, 4, ...), so a spell of noise on this
    # shared machine falls on every count alike; each figure is the median of its rounds.
    rounds: dict[int, list[dict[str, Any]]] = {count: [] for count in args.workers}
    for _ in range(args.repeat):
        for count in args.workers:
            run = await one(count, args)
            print(json.dumps(run))
            rounds[count].append(run)
    runs = [median_run(rounds[count]) for count in args.workers]
    base = runs[0]
    print(
        json.dumps(
            {
                "sharing": args.sharing,
                "workers": [r["workers"] for r in runs],
                "turns_per_s": [r["turns_per_s"] for r in runs],
                "cpu_ms_per_turn": [r["cpu_ms_per_turn"] for r in runs],
                "cpu_vs_1": [
                    round(r["cpu_ms_per_turn"] / base["cpu_ms_per_turn"], 2) for r in runs
                ],
                "throughput_vs_1": [round(r["turns_per_s"] / base["turns_per_s"], 2) for r in runs],
                "lost": sum(r["lost"] + r["outbox_left"] for r in runs),
                "duplicates": sum(r["duplicates"] for r in runs),
                "resent_after_error": sum(r["resent_after_error"] for r in runs),
                "order_violations": sum(r["order_violations"] for r in runs),
                "http_429": sum(r["http_429"] for r in runs),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
