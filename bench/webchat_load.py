"""The web chat under load: 1,000 live connections (server-sent events) and message rates
stepped up past saturation, on SQLite and on PostgreSQL, one `redgrid run` process (and, with
`--proxy`, three workers behind nginx as deploy/ ships them, PostgreSQL only).

Per database: a fresh database (migrated, demo district imported), the worker started, then
`--connections` residents each start a session, say /start once (their person is made) and
open the page's live stream (/api/events), which the bench keeps open as the page does:
reconnecting with Last-Event-ID when it ends (each such end while the server runs is a stream
killed). Then rates of `--rates` messages a second, `--step-seconds` each, round-robin over the
residents ("/help": a turn with a reply). A message's latency runs from its POST to the arrival
of its last reply on the resident's stream. A 503 is back-pressure: the page sends the message
again with the same key after Retry-After, and so does the bench, at the end of the step.

Per step: sends, 503s, p50 and p99 latency. `saturation_per_s` is the highest rate whose every
message was answered without a 503 within the step, with p99 under a second;
`p99_ms_below_saturation` that step's p99; `lost` the messages handled (or answered 200) whose
reply never reached the stream, plus those never handled at all after the retries.
Stepping stops one step past saturation. One JSON line per database, then one with all.

Usage: python bench/webchat_load.py [--connections 1000] [--rates 10 25 50 100 150 200]
       [--step-seconds 8] [--databases sqlite postgres] [--proxy]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import ssl
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bot.web.auth import COOKIE, CSRF_HEADER
from tests.conftest import PG_URL, create_postgres_database, drop_postgres_database
from tests.deploy.cluster import Deployment, Worker, free_port, prepare_database

SETTINGS = {
    # One client address opens every session here; the product's limit is per address.
    "REDGRID_WEBCHAT__SESSIONS_PER_HOUR": "1000000",
}


@dataclass
class Resident:
    number: int
    cookie: str = ""
    csrf: str = ""
    keys: itertools.count[int] = field(default_factory=itertools.count)
    last_event: str = ""  # the stream's last event id, "<row id>.<own message id>"
    arrived: dict[int, float] = field(default_factory=dict)  # row id -> when it was streamed


@dataclass
class Send:
    resident: Resident
    key: str
    started: float
    status: int = 0
    reply_id: int | None = None
    retried: bool = False
    error: str = ""


class Bench:
    def __init__(self, base: str, ssl_context: ssl.SSLContext | bool, args: argparse.Namespace):
        self.base, self.ssl, self.args = base, ssl_context, args
        self.http: aiohttp.ClientSession | None = None
        self.running = True
        self.killed = 0
        self.streams: list[asyncio.Task[None]] = []

    def _headers(self, resident: Resident, **extra: str) -> dict[str, str]:
        return {"Cookie": f"{COOKIE}={resident.cookie}", CSRF_HEADER: resident.csrf, **extra}

    async def open(self, resident: Resident) -> None:
        assert self.http is not None
        async with self.http.post(
            f"{self.base}/api/session", headers={CSRF_HEADER: "new"}, ssl=self.ssl
        ) as response:
            assert response.status == 200, await response.text()
            resident.csrf = (await response.json())["csrf"]
            resident.cookie = response.cookies[COOKIE].value
        send = Send(resident, f"start-{resident.number:06d}", time.perf_counter())
        await self.post(send, "/start")
        assert send.status == 200, send.status

    async def post(self, send: Send, text: str) -> None:
        assert self.http is not None
        body = {"key": send.key, "kind": "text", "text": text, "language": "zh-CN"}
        try:
            async with self.http.post(
                f"{self.base}/api/send",
                json=body,
                headers=self._headers(send.resident),
                ssl=self.ssl,
            ) as response:
                send.status = response.status
                if response.status == 200:
                    ids = (await response.json())["outbox_ids"]
                    send.reply_id = max(ids) if ids else None
                else:
                    await response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            send.status = -1
            send.error = type(error).__name__

    async def stream(self, resident: Resident) -> None:
        """The page's EventSource for one resident."""
        assert self.http is not None
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        while self.running:
            headers = self._headers(resident)
            if resident.last_event:
                headers["Last-Event-ID"] = resident.last_event
            try:
                async with self.http.get(
                    f"{self.base}/api/events", headers=headers, timeout=timeout, ssl=self.ssl
                ) as response:
                    async for line in response.content:
                        if line.startswith(b"id: "):
                            resident.last_event = line[4:].decode().strip()
                            row = int(resident.last_event.partition(".")[0])
                            resident.arrived.setdefault(row, time.perf_counter())
            except (TimeoutError, aiohttp.ClientError):
                pass
            if self.running:
                self.killed += 1
                await asyncio.sleep(2.0)  # the page's `retry: 2000`

    async def step(
        self, residents: list[Resident], rate: float, turn: itertools.count[int]
    ) -> list[Send]:
        """`rate` messages a second for the step's length, each to the next resident."""
        sends: list[Send] = []
        tasks = []
        started = time.perf_counter()
        total = int(rate * self.args.step_seconds)
        for n in range(total):
            due = started + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            resident = residents[next(turn) % len(residents)]
            send = Send(
                resident,
                f"load-{resident.number:06d}-{next(resident.keys):06d}",
                time.perf_counter(),
            )
            sends.append(send)
            tasks.append(asyncio.create_task(self.post(send, "/help")))
        await asyncio.gather(*tasks)
        return sends

    async def retry_shed(self, sends: list[Send]) -> None:
        """What the page does with a 503: the same key again, until it is taken."""
        for _ in range(20):
            shed = [s for s in sends if s.status != 200]
            if not shed:
                return
            await asyncio.sleep(1.0)
            for send in shed:
                send.retried = True
            await asyncio.gather(*(self.post(s, "/help") for s in shed))


def latency_ms(send: Send) -> float | None:
    if send.status != 200 or send.reply_id is None or send.retried:
        return None
    at = send.resident.arrived.get(send.reply_id)
    return None if at is None else 1000 * (at - send.started)


def summarise(rate: float, sends: list[Send], seconds: float) -> dict[str, Any]:
    latencies = sorted(x for x in map(latency_ms, sends) if x is not None)

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "rate": rate,
        "sent": len(sends),
        "achieved_per_s": round(len(sends) / seconds, 1),
        "http_503": sum(1 for s in sends if s.status == 503),
        "errors": sum(1 for s in sends if s.status not in (200, 503)),
        "other_statuses": dict(Counter(s.status for s in sends if s.status not in (200, 503))),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1], 1) if latencies else None,
    }


async def run_load(bench: Bench, label: str) -> dict[str, Any]:
    args = bench.args
    residents = [Resident(n) for n in range(args.connections)]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as bench.http:
        gate = asyncio.Semaphore(16)

        async def opened(resident: Resident) -> None:
            async with gate:
                await bench.open(resident)

        await asyncio.gather(*(opened(r) for r in residents))
        bench.streams = [asyncio.create_task(bench.stream(r)) for r in residents]
        # Every stream open and past its first read (the /start replies), then a pause.
        deadline = time.perf_counter() + 180
        while any(not r.arrived for r in residents) and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        await asyncio.sleep(5.0)
        bench.killed = 0
        steps, every = [], []
        turn = itertools.count()
        saturated = 0
        for rate in args.rates:
            started = time.perf_counter()
            sends = await bench.step(residents, rate, turn)
            summary = summarise(rate, sends, time.perf_counter() - started)
            await bench.retry_shed(sends)
            steps.append(summary)
            every.extend(sends)
            print(json.dumps({"database": label, **summary}), flush=True)
            if summary["http_503"] or summary["errors"] or (summary["p99_ms"] or 1e9) >= 1000:
                saturated += 1
                if saturated >= 2:
                    break
        await asyncio.sleep(args.drain_seconds)  # replies still on their way
        bench.running = False
        for task in bench.streams:
            task.cancel()
        await asyncio.gather(*bench.streams, return_exceptions=True)
    good = [
        s for s in steps if not s["http_503"] and not s["errors"] and (s["p99_ms"] or 1e9) < 1000
    ]
    best = max(good, key=lambda s: s["rate"]) if good else None
    lost = sum(
        1
        for s in every
        if s.status != 200 or (s.reply_id is not None and s.reply_id not in s.resident.arrived)
    )
    return {
        "database": label,
        "connections": args.connections,
        "saturation_per_s": best["rate"] if best else 0,
        "p99_ms_below_saturation": best["p99_ms"] if best else None,
        "streams_killed": bench.killed,
        "lost": lost,
        "steps": steps,
    }


async def one_worker(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    name = None
    with tempfile.TemporaryDirectory(prefix="redgrid-webchat-load-") as folder:
        workdir = Path(folder)
        if kind == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'redgrid.sqlite3'}"
        else:
            url, name = await create_postgres_database("redgrid_bench_webchat")
        try:
            await asyncio.to_thread(prepare_database, url, workdir)
            cluster = Deployment(url, workdir, worker_count=1, extra_env=SETTINGS)
            if args.proxy and kind == "postgres":
                cluster.worker_count = args.proxy_workers
                await cluster.start()
                bench = Bench(
                    cluster.url, ssl.create_default_context(cafile=str(cluster.cert)), args
                )
                label = f"{kind}+nginx+{args.proxy_workers}workers"
            else:
                (workdir / "uploads").mkdir()
                worker = Worker(free_port())
                cluster.workers = [worker]
                await cluster.start_worker(worker)
                bench = Bench(f"http://127.0.0.1:{worker.port}", False, args)
                label = kind
            try:
                return await run_load(bench, label)
            finally:
                await cluster.stop()
        finally:
            if name is not None:
                await drop_postgres_database(name)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 25, 50, 100, 150, 200])
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--drain-seconds", type=float, default=20.0)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--proxy", action="store_true", help="nginx in front of workers")
    parser.add_argument("--proxy-workers", type=int, default=3)
    args = parser.parse_args()
    results = []
    for kind in args.databases:
        if kind == "postgres" and PG_URL is None:
            print("postgres: skipped, no server (REDGRID_TEST_POSTGRES_URL)")
            continue
        result = await one_worker(kind, args)
        print(json.dumps({k: v for k, v in result.items() if k != "steps"}), flush=True)
        results.append(result)
    print(json.dumps({"runs": [{k: v for k, v in r.items() if k != "steps"} for r in results]}))


if __name__ == "__main__":
    asyncio.run(main())
