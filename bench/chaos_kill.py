"""The bot process SIGKILLed at random moments during a load run, and restarted.

The bench hosts the fake Telegram Bot API (tests/fakes/bot_api.py); `--kill-conversations`
residents (`--kill-concurrency` at a time) each send the chaos conversation (onboarding, one
report), one update at a time, each only once the previous one was confirmed. A child process
runs the real bot, `python -m bot run` (= `redgrid run`), in Telegram polling mode against the
fake, on the bench's PostgreSQL database. At `--kills` random points of progress the bench
SIGKILLs it and starts it again (python-telegram-bot and aiogram in turn), until every update
is confirmed. The polling loop confirms an update only after its transaction committed, so
what a dead process had not finished comes again, and the engine drops what it had committed.

Checked afterwards: every update has exactly one processed-update row and nothing else has one;
every resident has exactly one request; no Telegram outbox row is left unsent; every reply the
outbox holds reached the fake. A reply sent but not yet recorded as sent when the process died
is sent again by the next one once the dead one's heartbeat is stale (at least once, by
design): those extra copies are counted as `resent_after_kill`, not as duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import itertools
import os
import random
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.chaos_resends import CountingBotAPI, held_by, resent_by_kill
from bot.channels.telegram_common import CHANNEL, plan
from bot.db import create_engine, session_factory
from bot.messages import Outgoing
from models import ChannelIdentity, OutboxMessage, ProcessedUpdate, Request
from tests.fakes.bot_api import FakeBotAPI, texts

ROOT = Path(__file__).resolve().parent.parent
FIRST_USER = 7_100_000
FRAMEWORKS = ("ptb", "aiogram")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("bot process killed (SIGKILL) and restarted")
    group.add_argument("--kills", type=int, default=5, help="SIGKILLs of the bot process")
    group.add_argument("--kill-conversations", type=int, default=1000)
    group.add_argument("--kill-concurrency", type=int, default=100)
    group.add_argument("--kill-seed", type=int, default=None, help="replay the kill points")
    group.add_argument("--kill-timeout", type=float, default=480.0, help="give up after (s)")


@dataclass
class Progress:
    pushed: list[int] = field(default_factory=list)
    done: int = 0  # residents whose whole conversation was confirmed
    kills: list[dict[str, Any]] = field(default_factory=list)
    committed_unconfirmed: set[str] = field(default_factory=set)  # update ids


def script(ids: dict[str, Any]) -> list[tuple[str, str]]:
    """The chaos conversation (see chaos.conversation) as (kind, text or button data);
    `ids` holds the report's text and the buttons' data (chaos.demo_ids)."""
    return [
        ("text", "/start"),
        *[("button", data) for data in ids["address"]],
        ("text", "3-301"),
        ("button", "v1:skipphone"),
        ("text", ids["text"]),
        *[("button", data) for data in ids["report"]],
    ]


class Resident:
    """One Telegram user pressing buttons by their data (a reply may still be on its way)."""

    _message_ids = itertools.count(10**9)

    def __init__(self, api: FakeBotAPI, user_id: int) -> None:
        self.api = api
        self.chat_id = str(user_id)
        self.user = {"id": user_id, "is_bot": False, "first_name": "居民", "language_code": "zh"}
        self.chat = {"id": user_id, "type": "private", "first_name": "居民"}

    def _message(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return message

    def _shown(self, data: str) -> dict[str, Any] | None:
        """The newest bot message showing a button with `data`, else the newest bot message."""
        messages = self.api.messages.get(self.chat_id, [])
        for message in reversed(messages):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            if any(button.get("callback_data") == data for row in rows for button in row):
                return message
        return messages[-1] if messages else None

    def payload(self, kind: str, value: str) -> dict[str, Any]:
        if kind == "text":
            return {"message": self._message(value)}
        query: dict[str, Any] = {
            "id": str(next(self._message_ids)),
            "from": self.user,
            "chat_instance": "1",
            "data": value,
        }
        if (message := self._shown(value)) is not None:
            query["message"] = message
        return {"callback_query": query}


async def converse(
    api: FakeBotAPI, resident: Resident, steps: list[tuple[str, str]], progress: Progress,
    deadline: float,
) -> None:  # fmt: skip
    for kind, value in steps:
        update_id = await api.push(resident.payload(kind, value))
        progress.pushed.append(update_id)
        await api.wait_confirmed(update_id, within=max(1.0, deadline - time.monotonic()))
    progress.done += 1


class BotProcess:
    """`python -m bot run` with Telegram polling against the fake, restarted after each kill."""

    def __init__(self, url: str, api: FakeBotAPI, workdir: Path) -> None:
        self.url, self.api, self.workdir = url, api, workdir
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    def _env(self, framework: str) -> dict[str, str]:
        with socket.socket() as sock:  # the web chat needs a port of its own
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "REDGRID_CONFIG": str(self.workdir / "no-config.yaml"),
            "REDGRID_DATABASE__URL": self.url,
            "REDGRID_TELEGRAM__TOKEN": self.api.token,
            "REDGRID_TELEGRAM__API_BASE_URL": self.api.base_url,
            "REDGRID_TELEGRAM__MODE": "polling",
            "REDGRID_TELEGRAM__FRAMEWORK": framework,
            "REDGRID_WEB__PORT": str(port),
            # Pacing protects Telegram; it is not what is tested here. No quiet hours either,
            # so the drain does not depend on the time of day.
            "REDGRID_OUTBOX__GLOBAL_RATE": "100000",
            "REDGRID_OUTBOX__CHAT_RATE": "100000",
            "REDGRID_OUTBOX__QUIET_START": "00:00",
            "REDGRID_OUTBOX__QUIET_END": "00:00",
        }

    async def start(self) -> None:
        framework = FRAMEWORKS[self.starts % len(FRAMEWORKS)]
        self.starts += 1
        log = (self.workdir / f"bot-{self.starts}-{framework}.log").open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self._env(framework),
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int | None:
        """SIGTERM (a graceful stop); SIGKILL if it does not stop within 30 s."""
        if self.process is None or self.process.returncode is not None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            await self.kill()
            return self.process.returncode

    def log_lines(self, needle: str) -> int:
        return sum(
            path.read_text(errors="replace").count(needle)
            for path in self.workdir.glob("bot-*.log")
        )


async def committed(url: str, update_ids: list[int]) -> set[str]:
    """Those of these updates whose handling is committed."""
    db = create_engine(url, pool_size=1)
    async with session_factory(db)() as session:
        found = (
            await session.execute(
                select(ProcessedUpdate.update_id).where(
                    ProcessedUpdate.channel == CHANNEL,
                    ProcessedUpdate.update_id.in_([str(i) for i in update_ids]),
                )
            )
        ).scalars()
        done = set(found)
    await db.dispose()
    return done


async def killer(
    bot: BotProcess, api: CountingBotAPI, progress: Progress, total: int, kills: int,
    rng: random.Random,
) -> None:  # fmt: skip
    """SIGKILL the bot at `kills` random points of progress (confirmed updates), a random
    fraction of a second after each, and start it again at once. Noted per kill: the updates
    not confirmed, and how many of those were committed already (the next process gets them
    again and must drop them as duplicates)."""
    marks = sorted(int(total * rng.uniform(0.05, 0.8)) for _ in range(kills))
    for index, mark in enumerate(marks):
        while len(api.confirmed) < mark:  # noqa: ASYNC110 (polling a counter is the point)
            await asyncio.sleep(0.02)
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        assert bot.process is not None
        pid = bot.process.pid
        api.killing()
        await bot.kill()
        pending = [update["update_id"] for update in api.pending]
        done = await committed(bot.url, pending)
        held = await held_by(bot.url, pid)
        progress.committed_unconfirmed |= done
        progress.kills.append(
            {
                "confirmed": len(api.confirmed),
                "pending": len(pending),
                "committed": len(done),
                "held": held,
            }
        )
        print(
            f"kill {index + 1}/{kills}: SIGKILL at {len(api.confirmed)}/{total} updates "
            f"confirmed; {len(pending)} not confirmed, {len(done)} of them committed; "
            f"{held} replies held (sending)"
        )
        await bot.start()


async def outbox_left(url: str, limit_s: float) -> dict[str, int]:
    """Wait until every Telegram outbox row is sent; returns the rows left per status."""
    db = create_engine(url, pool_size=1)
    deadline = time.monotonic() + limit_s
    try:
        while True:
            async with session_factory(db)() as session:
                rows = (
                    await session.execute(
                        select(OutboxMessage.status, func.count())
                        .where(OutboxMessage.channel == CHANNEL, OutboxMessage.status != "sent")
                        .group_by(OutboxMessage.status)
                    )
                ).all()
            left = {str(status): int(n) for status, n in rows}
            if not left or time.monotonic() > deadline:
                return left
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()


def expected_texts(payload: dict[str, Any]) -> list[str]:
    """The texts a reply shows on Telegram, as the fake records them (one per message)."""
    message = Outgoing.from_payload(payload)
    if message.menu is not None:
        return []
    return [
        html.unescape(part.text)
        for part in plan(message)
        if part.method in ("sendMessage", "sendPhoto", "sendDocument")
    ]


async def verify(
    url: str, api: CountingBotAPI, progress: Progress, residents: int
) -> dict[str, Any]:
    db = create_engine(url, pool_size=1)
    async with session_factory(db)() as session:
        processed = set(
            (
                await session.execute(
                    select(ProcessedUpdate.update_id).where(ProcessedUpdate.channel == CHANNEL)
                )
            ).scalars()
        )
        per_resident = dict(
            (
                await session.execute(
                    select(ChannelIdentity.external_id, func.count(Request.id))
                    .outerjoin(Request, Request.reporter_id == ChannelIdentity.person_id)
                    .where(ChannelIdentity.channel == CHANNEL)
                    .group_by(ChannelIdentity.external_id)
                )
            ).all()
        )
        rows = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.payload).where(
                    OutboxMessage.channel == CHANNEL
                )
            )
        ).all()
    await db.dispose()
    pushed = {str(update_id) for update_id in progress.pushed}
    users = [str(FIRST_USER + i) for i in range(residents)]
    expected: dict[str, Counter[str]] = {}
    for chat_id, payload in rows:
        expected.setdefault(chat_id, Counter()).update(expected_texts(payload))
    missing = resent = 0
    for chat_id, wanted in expected.items():
        got = Counter(texts(api.messages.get(chat_id, [])))
        missing += sum((wanted - got).values())
        resent += sum((got - wanted).values())
    by_kill, unexplained = resent_by_kill(api, expected)
    for point, figures in zip(progress.kills, by_kill, strict=True):
        point.update(resent_delivered=figures["delivered"], resent_in_flight=figures["in_flight"],
                     resent_delivered_age_ms=figures["delivered_age_ms"])  # fmt: skip
    return {
        "processed_updates": len(processed & pushed),
        "lost_updates": len(pushed - processed),
        "unexpected_processed": len(processed - pushed),
        "lost_requests": sum(1 for user in users if per_resident.get(user, 0) == 0),
        "duplicated": sum(n - 1 for n in per_resident.values() if n > 1),
        "replies": sum(sum(c.values()) for c in expected.values()),
        "replies_missing": missing,
        "resent_after_kill": resent,
        "resent_unexplained": unexplained,
    }


async def phase_kills(url: str, ids: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    seed = args.kill_seed if args.kill_seed is not None else random.randrange(10**6)
    print(f"kill phase: seed {seed} (--kill-seed {seed} replays the kill points)")
    rng = random.Random(seed)
    steps = script(ids)
    total = args.kill_conversations * len(steps)
    api = CountingBotAPI()
    await api.start()
    progress = Progress()
    with tempfile.TemporaryDirectory(prefix="redgrid-chaos-kill-") as workdir:
        bot = BotProcess(url, api, Path(workdir))
        await bot.start()
        started = time.perf_counter()
        deadline = time.monotonic() + args.kill_timeout
        queue = list(range(args.kill_conversations))

        async def worker() -> None:
            while queue:
                resident = Resident(api, FIRST_USER + queue.pop(0))
                await converse(api, resident, steps, progress, deadline)

        kills = asyncio.create_task(killer(bot, api, progress, total, args.kills, rng))
        try:
            await asyncio.gather(*(worker() for _ in range(args.kill_concurrency)))
            await kills
            load_seconds = time.perf_counter() - started
            # Rows a killed process held are sent by the next one once the killed one's heartbeat
            # is stale (workers.stale_after_s), not after their lease (60 s).
            left = await outbox_left(url, limit_s=180)
            drain_seconds = time.perf_counter() - started - load_seconds
        finally:
            kills.cancel()
            exit_code = await bot.stop()
            unhandled = bot.log_lines("not handled")
            tracebacks = bot.log_lines("Traceback")
        figures = await verify(url, api, progress, args.kill_conversations)
    await api.close()
    for index, point in enumerate(progress.kills):
        print(
            f"kill {index + 1}: {point['held']} replies held, resent afterwards "
            f"{point['resent_delivered']} delivered before the kill (answered "
            f"{point['resent_delivered_age_ms']} ms before it) + {point['resent_in_flight']} "
            "in flight at it"
        )
    return {
        "seconds": round(load_seconds, 1),
        "drain_seconds": round(drain_seconds, 1),
        "seed": seed,
        "conversations": args.kill_conversations,
        "updates": total,
        "completed": progress.done,
        "kills": len(progress.kills),
        "starts": bot.starts,
        "kill_points": progress.kills,
        # Per kill: replies the killed process held ('sending'), and of the replies sent again
        # afterwards, those it had delivered (answered by the fake, not recorded) and those
        # still on their way at the kill (bench/chaos_resends.py).
        "held_at_kill": sum(point["held"] for point in progress.kills),
        "resent_delivered_before_kill": sum(p["resent_delivered"] for p in progress.kills),
        "resent_in_flight_at_kill": sum(p["resent_in_flight"] for p in progress.kills),
        # Handed out to more than one process: a killed one had not confirmed them.
        "updates_redelivered": sum(1 for n in api.served.values() if n > 1),
        # Of those, committed before the kill: the next process had to drop them.
        "committed_before_kill": len(progress.committed_unconfirmed),
        "last_exit_code": exit_code,
        "log_updates_not_handled": unhandled,
        "log_tracebacks": tracebacks,
        **figures,
        "outbox_undelivered": sum(left.values()) + figures["replies_missing"],
        "outbox_left": left,
    }
