"""Telegram intake on the loopback fake Bot API: a bare echo bot vs redgrid, per framework.

For python-telegram-bot and aiogram in turn: (a) the framework's own stock echo bot (its
poller, its dispatcher) answers N residents' messages; (b) redgrid answers the same N messages
through its own polling loop, the full engine (SQLite file, demo district loaded) and the
outbox (limits raised: they protect Telegram, they are not what is measured); and, to show
where the time goes, (c) the pipeline: redgrid's polling loop and adapter answering each
message with its own text, without a conversation turn. `turn_ms` is what the durable turn
adds per message ((b) less (c)); `turn_ms_at_0_6` what it could cost for a ratio of 0.6.
Each framework runs `--rounds` rounds (echo, pipeline, redgrid) and reports the medians.
Prints one JSON line per framework, then, last, one JSON object holding both.
Every bot first answers a few warm-up messages (imports, lazy schema builds), not timed.
Usage: python bench/intake_telegram.py [--residents 100] [--messages 20] [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import migrate
from bot.channels.telegram_base import TelegramAdapter
from bot.channels.telegram_common import incoming_from_update
from bot.channels.telegram_polling import poll
from bot.channels.telegram_runtime import make_update_handler
from bot.config import load_settings
from bot.config_channels import TelegramSettings
from bot.core.engine import Engine
from bot.db import create_engine, session_factory
from bot.messages import Outgoing
from bot.outbox import Limits, Sender
from bot.runtime import settle_heap
from bot.services.cases import classify
from bot.services.org.importer import load_demo
from handlers import build_router
from tests.fakes.bot_api import FakeBotAPI

UNLIMITED = Limits(
    global_rate=1e9,
    chat_rate=1e9,
    group_rate_per_minute=1e9,
    global_burst=1e9,
    chat_burst=1e9,
    group_burst=1e9,
)
MESSAGES = (
    "楼道灯坏了好几天了",
    "晚上黑漆漆的",
    "三楼和四楼都不亮",
    "老人上下楼很危险",
    "麻烦尽快修一下",
)


async def push_messages(
    api: FakeBotAPI, residents: int, messages: int, first_user: int = 900000
) -> list[int]:
    users = [api.user(first_user + i) for i in range(residents)]
    ids = []
    for round_ in range(messages):
        for user in users:
            text = MESSAGES[round_ % len(MESSAGES)]
            ids.append(await api.push({"message": user._message(text=text)}))
    return ids


WARM_UP = (5, 2)  # residents x messages answered before timing: lazy imports, schema builds


async def drive(args: argparse.Namespace, api: FakeBotAPI, answered: Any) -> float:
    """Warm the bot up, then time N residents' messages until `answered(n)` says all are."""
    await push_messages(api, *WARM_UP, first_user=800000)
    warm = WARM_UP[0] * WARM_UP[1]
    await wait_for(lambda: answered(warm))
    started = time.perf_counter()
    await push_messages(api, args.residents, args.messages)
    await wait_for(lambda: answered(warm + args.residents * args.messages))
    return time.perf_counter() - started


async def wait_for(condition: Any, within: float = 600.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not answer everything in time")
        await asyncio.sleep(0.002)


# --- (a) the frameworks' own echo bots ----------------------------------------------------------


async def echo_ptb(api: FakeBotAPI, args: argparse.Namespace) -> float:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(update.message.text)

    app = (
        Application.builder()
        .token(api.token)
        .base_url(f"{api.base_url}/bot")
        .base_file_url(f"{api.base_url}/file/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    seconds = await drive(args, api, lambda n: api.counts["sendMessage"] >= n)
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    return seconds


async def echo_aiogram(api: FakeBotAPI, args: argparse.Namespace) -> float:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        assert message.text is not None
        await message.answer(message.text)

    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
    )
    seconds = await drive(args, api, lambda n: api.counts["sendMessage"] >= n)
    await dispatcher.stop_polling()
    await task
    await bot.session.close()
    return seconds


# --- (b) redgrid --------------------------------------------------------------------------------


def make_client(framework: str, api: FakeBotAPI) -> TelegramAdapter:
    if framework == "ptb":
        from bot.channels.telegram_ptb import PtbTelegram

        return PtbTelegram.create(api.token, api.base_url)
    from bot.channels.telegram_aiogram import AiogramTelegram

    return AiogramTelegram.create(api.token, api.base_url)


async def redgrid(
    framework: str,
    api: FakeBotAPI,
    args: argparse.Namespace,
    database: str,
    profiler: cProfile.Profile | None,
) -> float:
    """Seconds until every timed update was handled, answered and confirmed (the database
    setup and the warm-up messages are not counted)."""
    url = f"sqlite+aiosqlite:///{database}"
    settings = load_settings(database={"url": url})
    db = create_engine(url)
    await migrate.upgrade(db)
    sessions = session_factory(db)
    async with sessions() as session, session.begin():
        await load_demo(session)
    client = make_client(framework, api)
    await client.start()
    outputs = {client.name: client}
    sender = Sender(
        sessions=sessions,
        channels=outputs,
        settings=settings.outbox,
        tz=settings.tz,
        worker_id="bench",
        limits=UNLIMITED,
        record_delay=0.05,  # as `redgrid run` does
    )
    engine = Engine(
        sessions=sessions,
        settings=settings,
        router=build_router(),
        outputs=outputs,
        sender=sender,
    )
    try:
        return await polled(client, make_update_handler(engine, client), api, args, profiler)
    finally:
        await sender.flush_reply_marks()
        await client.close()
        await db.dispose()


async def pipeline(framework: str, api: FakeBotAPI, args: argparse.Namespace) -> float:
    """The same messages through redgrid's own polling loop and adapter, each answered with
    its own text and no conversation turn: redgrid's seconds less these are what the durable
    turn (dedup, locked chat state, handler, outbox) costs."""
    client = make_client(framework, api)
    await client.start()

    async def echo(update: dict[str, Any]) -> bool:
        incoming = incoming_from_update(update, bot_username=client.username)
        if incoming is not None:
            await client.send(incoming.chat_id, Outgoing(text=incoming.text))
        await client.acknowledge(update)
        return True

    try:
        return await polled(client, echo, api, args, None)
    finally:
        await client.close()


async def polled(
    client: TelegramAdapter,
    handler: Any,
    api: FakeBotAPI,
    args: argparse.Namespace,
    profiler: cProfile.Profile | None,
) -> float:
    """Poll with `handler` as `redgrid run` does, until every timed update is confirmed."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        poll(client, handler, stop=stop, poll_timeout=1, concurrency=args.concurrency)
    )
    if profiler:
        profiler.enable()
    elapsed = await drive(args, api, lambda n: len(api.confirmed) >= n)
    if profiler:
        profiler.disable()
    stop.set()
    await task
    return elapsed


async def measure(framework: str, args: argparse.Namespace, folder: str) -> dict[str, Any]:
    """`args.rounds` rounds of echo, pipeline and redgrid; the medians of each, so that one
    round disturbed by the rest of a shared machine does not decide the figure."""
    total = args.residents * args.messages
    runs: dict[str, list[float]] = {"echo": [], "pipeline": [], "redgrid": []}
    replies = 0
    for round_ in range(args.rounds):
        for kind, times in runs.items():
            api = FakeBotAPI()
            await api.start()
            profiler = cProfile.Profile() if args.profile and round_ == 0 else None
            try:
                if kind == "echo":
                    run = echo_ptb if framework == "ptb" else echo_aiogram
                    times.append(await run(api, args))
                elif kind == "pipeline":
                    times.append(await pipeline(framework, api, args))
                else:
                    database = f"{folder}/{framework}-{round_}.sqlite3"
                    times.append(await redgrid(framework, api, args, database, profiler))
                    replies = api.counts["sendMessage"]
            finally:
                await api.close()
            if profiler and kind == "redgrid":
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(15)
                stats.sort_stats("cumulative").print_stats(r"/(bot|handlers)/", 30)
                print(out.getvalue(), file=sys.stderr)
    print(
        f"{framework}: {total} messages x {args.rounds} rounds; "
        + ", ".join(f"{k} {' '.join(f'{t:.2f}s' for t in v)}" for k, v in runs.items())
        + f" ({replies} replies a round)"
    )
    # Per message, in ms: what each run took, and what the durable turn adds to the pipeline.
    ms = {kind: statistics.median(times) / total * 1000 for kind, times in runs.items()}
    return {
        "framework": framework,
        "messages": total,
        "rounds": args.rounds,
        "echo_per_s": round(1000 / ms["echo"], 1),
        "pipeline_per_s": round(1000 / ms["pipeline"], 1),
        "redgrid_per_s": round(1000 / ms["redgrid"], 1),
        "ratio": round(ms["echo"] / ms["redgrid"], 3),
        "turn_ms": round(ms["redgrid"] - ms["pipeline"], 3),
        # What the turn could cost, on this run's echo and pipeline, for a ratio of 0.6.
        "turn_ms_at_0_6": round(ms["echo"] / 0.6 - ms["pipeline"], 3),
    }


def _import_frameworks() -> None:
    """Both frameworks (adapters and echo bots) are imported before the heap settles: a
    framework imported later would leave its thousands of classes for every full garbage
    collection to walk, which `redgrid run` never does."""
    import aiogram  # noqa: F401
    import telegram.ext  # noqa: F401

    import bot.channels.telegram_aiogram
    import bot.channels.telegram_ptb  # noqa: F401


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument(
        "--concurrency", type=int, default=TelegramSettings().polling_chats
    )  # chats at once, as `redgrid run` polls
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--framework", choices=["ptb", "aiogram"], action="append")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR)
    classify.warm_up()
    _import_frameworks()
    settle_heap()  # as `redgrid run` does after start-up, which has imported its framework
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for framework in args.framework or ["ptb", "aiogram"]:
            result = await measure(framework, args, folder)
            print(json.dumps(result))
            results.append(result)
    summary = {r["framework"]: {k: v for k, v in r.items() if k != "framework"} for r in results}
    print(json.dumps({"bench": "intake_telegram", **summary}))


if __name__ == "__main__":
    asyncio.run(main())
