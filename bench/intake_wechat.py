"""WeChat intake: N residents at once, each registering by the compound's QR code and
reporting a request, through encrypted (safe mode) callbacks over loopback HTTP.

The app is the real one (callback route, engine, outbox, SQLite file with the demo district,
or PostgreSQL with --postgres); WeChat's API is the fake one from the test package. Every
tenth push is delivered twice at the same moment, as WeChat does when it retries a push
whose first try is still running. Counts: `callbacks` posted, their latency (p50, p99),
`over_5s` (WeChat would have given up and tried again), `lost` (pushes that are not recorded
as handled, or residents who got no reference), `duplicates` (a push handled twice: two
passive replies, or a resident with more than one request).
Last line: one JSON object {"callbacks", "p50_ms", "p99_ms", "over_5s", "lost", "duplicates"}.
Usage: python bench/intake_wechat.py [--residents 50] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bot import migrate
from bot.channels.telegram_webhook import serve_webhook
from bot.channels.wechat import CALLBACK_PATH, inbound
from bot.channels.wechat.callback import make_wechat_router
from bot.channels.wechat.setup import make_callback, make_channel
from bot.config import load_settings
from bot.core.engine import Engine
from bot.db import create_engine, session_factory
from bot.outbox import Limits, Sender
from bot.services.cases import classify
from bot.services.org.importer import load_demo
from handlers import build_router
from models import Compound, ProcessedUpdate, Request, utcnow
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatAPI
from tests.fakes.wechat_callback import AES_KEY, TOKEN, Delivery, WechatDriver, WechatUser

PG_ADMIN = os.environ.get(
    "REDGRID_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ROOMY = Limits(
    global_rate=1e6,
    chat_rate=1e6,
    group_rate_per_minute=1e6,
    global_burst=1e6,
    chat_burst=1e6,
    group_burst=1e6,
)


class Timed(WechatDriver):
    """The driver, timing every try and delivering every tenth push twice at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.pushes = 0
        self.update_ids: set[str] = set()
        self.doubled_passives = 0

    async def post(self, xml: str, **kwargs: Any) -> Delivery:
        self.pushes += 1
        self.update_ids.add(_update_id(xml))
        twice = self.pushes % 10 == 0
        nonce = kwargs.get("nonce") or f"n{self.pushes}"
        tries = [self._timed(xml, nonce) for _ in range(2 if twice else 1)]
        results = await asyncio.gather(*tries)
        if sum(1 for d in results if d.passive is not None) > 1:
            self.doubled_passives += 1
        return next((d for d in results if d.passive is not None), results[0])

    async def _timed(self, xml: str, nonce: str) -> Delivery:
        started = time.perf_counter()
        delivery = await super().post(xml, nonce=nonce)
        self.latencies.append(time.perf_counter() - started)
        if self.latencies[-1] > 5:
            print("slow", delivery.statuses, xml[:300], file=sys.stderr)
        return delivery


def _update_id(xml: str) -> str:
    incoming = inbound.parse(xml).incoming
    return incoming.update_id if incoming is not None else ""


async def resident(user: WechatUser, compound_id: int, index: int) -> bool:
    """One resident: follow by QR, building, room, report a broken light; got a reference?"""
    await user.subscribe(f"c_{compound_id}")
    if "中文" in user.buttons:
        await user.press("中文")
    await user.press("17号楼")
    await user.send(f"{index % 6 + 1}-{index % 30 + 101}")
    await user.press("跳过")
    await user.send("楼道灯坏了好几天了，晚上黑漆漆的")
    await user.press("✅ 完成")
    await user.press(user.buttons[0])
    if "楼道/小区公共区域" in user.buttons:
        await user.press("楼道/小区公共区域")
    await user.press("一般")
    if "仍然新提交" in user.buttons:
        await user.press("仍然新提交")
    await user.press("✅ 提交")
    return any("JM-" in text for text in user.all_texts)


async def run(url: str, residents: int, upload_dir: Path) -> dict[str, Any]:
    db = create_engine(url)
    await migrate.upgrade(db)
    sessions = session_factory(db)
    async with sessions() as session, session.begin():
        await load_demo(session)
        compound_id = int(
            await session.scalar(select(Compound.id).where(Compound.name_zh == "海盛·新阳光地带"))
            or 0
        )
    api = FakeWechatAPI()
    await api.start()
    settings = load_settings(
        database={"url": url},
        requests={"flood_per_minute": 0},  # the bench types faster than people
        webchat={"upload_dir": str(upload_dir)},
        wechat={
            "enabled": True,
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "encrypt_mode": "safe",
            "api_base_url": api.base_url,
        },
    )
    channel = make_channel(settings, sessions, utcnow)
    outputs = {channel.name: channel}
    sender = Sender(
        sessions,
        outputs,
        settings.outbox,
        settings.tz,
        worker_id="bench",
        limits=ROOMY,
        record_delay=0.05,
    )
    engine = Engine(
        sessions=sessions, settings=settings, router=build_router(), outputs=outputs, sender=sender
    )
    callback = make_callback(
        settings, engine=engine, channel=channel, sessions=sessions, sender=sender, clock=utcnow
    )
    server = await serve_webhook(make_wechat_router(callback))
    driver = Timed(
        f"http://127.0.0.1:{server.port}{CALLBACK_PATH}",
        api=api,
        clock=utcnow,
        mode="safe",
        settle=callback.idle,
    )
    classify.warm_up()  # the classifier's model, as `redgrid run` loads it before serving
    started = time.perf_counter()
    try:
        done = await asyncio.gather(
            *(resident(driver.user(f"o_bench_{i}"), compound_id, i) for i in range(residents))
        )
        await callback.idle()
        await sender.flush_reply_marks()
    finally:
        await driver.close()
        await server.stop()
        await channel.api.close()
        await api.close()
    elapsed = time.perf_counter() - started
    async with sessions() as session:
        recorded = set(
            await session.scalars(
                select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == "wechat")
            )
        )
        requests = int(await session.scalar(select(func.count()).select_from(Request)) or 0)
    await db.dispose()
    latencies = sorted(driver.latencies)
    lost = len(driver.update_ids - recorded) + done.count(False)
    return {
        "callbacks": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
        "over_5s": sum(1 for seconds in latencies if seconds > 5),
        "lost": lost,
        "duplicates": driver.doubled_passives + max(0, requests - residents),
        "elapsed_s": round(elapsed, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            from tests.conftest import create_postgres_database, drop_postgres_database

            url, name = await create_postgres_database("redgrid_bench_wechat")
            try:
                result = await run(url, args.residents, Path(tmp) / "uploads")
            finally:
                await drop_postgres_database(name)
        else:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            result = await run(url, args.residents, Path(tmp) / "uploads")
    database = "postgres" if args.postgres else "sqlite"
    print(f"{database}: {result['elapsed_s']} s for {args.residents} residents", file=sys.stderr)
    result.pop("elapsed_s")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
