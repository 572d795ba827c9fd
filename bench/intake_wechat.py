"""WeChat intake: N residents at once, each registering by the compound's QR code and
reporting a request, through encrypted (safe mode) callbacks over loopback HTTP.

WeChat's side runs in this process: the driver posting the callbacks and the fake WeChat API
from the test package. redgrid runs in a child process, as in production: the callback route,
the engine, the outbox, on an SQLite file with the demo district (or PostgreSQL with
--postgres). Residents take `--think` seconds between messages, as people read and tap.
Every tenth push is delivered twice at the same moment, as WeChat does when it retries a
push whose first try still runs. Counts: `callbacks` (HTTP tries), their latency (p50, p99),
`over_5s` (tries WeChat would have given up on), `lost` (pushes not recorded as handled, or
residents who got no reference), `duplicates` (a push handled twice: two passive replies,
or a resident with more than one request).
Last line: one JSON object {"callbacks", "p50_ms", "p99_ms", "over_5s", "lost", "duplicates"}.
Usage: python bench/intake_wechat.py [--residents 50] [--think 1.0] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, select

from bot import migrate
from bot.channels.wechat import CALLBACK_PATH, inbound
from bot.db import create_engine, session_factory
from models import Compound, ProcessedUpdate, Request
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatAPI
from tests.fakes.wechat_callback import AES_KEY, TOKEN, Delivery, WechatDriver, WechatUser

IDLE_PATH = "/bench/idle"


class Timed(WechatDriver):
    """The driver, timing every try and delivering every tenth push twice at once."""

    def __init__(self, *args: Any, think: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.think = think
        self.latencies: list[float] = []
        self.pushes = 0
        self.update_ids: set[str] = set()
        self.doubled_passives = 0

    async def post(self, xml: str, **kwargs: Any) -> Delivery:
        if self.think:
            await asyncio.sleep(random.uniform(0.5, 1.5) * self.think)
        self.pushes += 1
        incoming = inbound.parse(xml).incoming
        if incoming is not None:
            self.update_ids.add(incoming.update_id)
        nonce = kwargs.get("nonce") or f"n{self.pushes}"
        copies = 2 if self.pushes % 10 == 0 else 1
        post = super().post
        results = await asyncio.gather(*(post(xml, nonce=nonce) for _ in range(copies)))
        for delivery in results:
            self.latencies.extend(delivery.seconds)
        if sum(1 for d in results if d.passive is not None) > 1:
            self.doubled_passives += 1
        return next((d for d in results if d.passive is not None), results[0])


async def resident(user: WechatUser, compound_id: int, index: int) -> bool:
    """One resident: follow by QR, building, no phone; report a broken light and submit the
    draft; got a reference?"""
    await user.subscribe(f"c_{compound_id}")
    if "中文" in user.buttons:
        await user.press("中文")
    await user.press("17号楼")
    await user.press("跳过")
    await user.send(f"{index % 6 + 1}号单元楼道灯坏了好几天了，晚上黑漆漆的")
    await user.press("✅ 提交")
    return any("JM-" in text for text in user.all_texts)


def app_settings(url: str, api_base_url: str, upload_dir: str) -> dict[str, Any]:
    return {
        "database": {"url": url},
        "requests": {"flood_per_minute": 0},  # every resident is a bench client
        "webchat": {"upload_dir": upload_dir},
        "wechat": {
            "enabled": True,
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "encrypt_mode": "safe",
            "api_base_url": api_base_url,
        },
    }


async def serve(config: dict[str, Any]) -> None:
    """The child: redgrid's callback route (and an idle route for the driver) until stdin
    closes; prints its port."""
    from fastapi import APIRouter

    from bot.channels.telegram_webhook import serve_webhook
    from bot.channels.wechat.callback import make_wechat_router
    from bot.channels.wechat.setup import make_callback, make_channel
    from bot.config import load_settings
    from bot.core.engine import Engine
    from bot.outbox import Limits, Sender
    from bot.runtime import settle_heap
    from bot.services.cases import classify
    from handlers import build_router
    from models import utcnow

    settings = load_settings(**config)
    db = create_engine(settings.database.url, pool_size=settings.database.pool_size)
    sessions = session_factory(db)
    channel = make_channel(settings, sessions, utcnow)
    roomy = Limits(1e6, 1e6, 1e6, 1e6, 1e6, 1e6)
    outputs = {channel.name: channel}
    sender = Sender(
        sessions,
        outputs,
        settings.outbox,
        settings.tz,
        worker_id="bench",
        limits=roomy,
        record_delay=0.05,  # as `redgrid run` does
    )
    engine = Engine(
        sessions=sessions, settings=settings, router=build_router(), outputs=outputs, sender=sender
    )
    callback = make_callback(
        settings, engine=engine, channel=channel, sessions=sessions, sender=sender, clock=utcnow
    )
    router = make_wechat_router(callback)
    idle = APIRouter()

    @idle.get(IDLE_PATH)
    async def wait_idle(openid: str) -> dict[str, bool]:
        await callback.idle(openid)
        return {"ok": True}

    router.include_router(idle)
    classify.warm_up()  # as `redgrid run` does before serving
    settle_heap()
    server = await serve_webhook(router)
    print(server.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await sender.flush_reply_marks()
    await server.stop()
    await channel.api.close()
    await db.dispose()


async def prepare(url: str) -> int:
    db = create_engine(url)
    await migrate.upgrade(db)
    from bot.services.org.importer import load_demo

    sessions = session_factory(db)
    async with sessions() as session, session.begin():
        await load_demo(session)
        compound = await session.scalar(
            select(Compound.id).where(Compound.name_zh == "海盛·新阳光地带")
        )
    await db.dispose()
    return int(compound or 0)


async def count(url: str) -> tuple[set[str], int]:
    db = create_engine(url)
    async with session_factory(db)() as session:
        recorded = set(
            await session.scalars(
                select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == "wechat")
            )
        )
        requests = int(await session.scalar(select(func.count()).select_from(Request)) or 0)
    await db.dispose()
    return recorded, requests


async def run(url: str, residents: int, think: float, upload_dir: Path) -> dict[str, Any]:
    compound_id = await prepare(url)
    api = FakeWechatAPI()
    await api.start()
    config = app_settings(url, api.base_url, str(upload_dir))
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", json.dumps(config),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    port = int((await asyncio.wait_for(child.stdout.readline(), 120)).decode())
    base = f"http://127.0.0.1:{port}"
    idle_client = httpx.AsyncClient(base_url=base, timeout=60)

    async def settle(openid: str) -> None:
        await idle_client.get(IDLE_PATH, params={"openid": openid})

    driver = Timed(base + CALLBACK_PATH, api=api, clock=_now, mode="safe", settle=settle)
    driver.think = think
    started = time.perf_counter()
    try:
        done = await asyncio.gather(
            *(resident(driver.user(f"o_bench_{i}"), compound_id, i) for i in range(residents))
        )
    finally:
        child.stdin.close()
        await child.wait()
        await driver.close()
        await idle_client.aclose()
        await api.close()
    elapsed = time.perf_counter() - started
    recorded, requests = await count(url)
    latencies = sorted(driver.latencies)
    return {
        "callbacks": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
        "over_5s": sum(1 for seconds in latencies if seconds > 5),
        "lost": len(driver.update_ids - recorded) + done.count(False),
        "duplicates": driver.doubled_passives + max(0, requests - residents),
        "elapsed_s": round(elapsed, 2),
    }


def _now() -> Any:
    from models import utcnow

    return utcnow()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0, help="seconds between messages")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.serve:
        await serve(json.loads(args.serve))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            from tests.conftest import create_postgres_database, drop_postgres_database

            url, name = await create_postgres_database("redgrid_bench_wechat")
            try:
                result = await run(url, args.residents, args.think, Path(tmp) / "uploads")
            finally:
                await drop_postgres_database(name)
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            result = await run(url, args.residents, args.think, Path(tmp) / "uploads")
    database = "postgres" if args.postgres else "sqlite"
    print(
        f"{database}: {result.pop('elapsed_s')} s for {args.residents} residents", file=sys.stderr
    )
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("REDGRID_CONFIG", "/nonexistent-config.yaml")
    asyncio.run(main())
