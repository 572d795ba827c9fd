"""Faults during load: nothing lost, nothing done twice, every push delivered in order.

Against a throwaway PostgreSQL database (created and dropped here):
1. `--conversations` residents (default 2,000) onboard and report a request through the
   engine, `--concurrency` at a time, while the bench cuts every connection of the database
   with `pg_terminate_backend` several times. An update whose processing raised (database
   gone) is sent again with the same update id, as Telegram redelivers it. Afterwards: every
   update was recorded once, every resident has exactly one request, the outbox drains.
   (The server itself is not restarted: other work shares it on a developer machine.)
2. The output channel answers 429 (retry after), 5xx and timeouts for a while: every push is
   delivered afterwards, in order per chat.
3. The bot process itself (`redgrid run`, Telegram polling against the fake Bot API) is
   SIGKILLed `--kills` times at random moments of a load run and restarted: the same checks,
   plus every reply reaching Telegram (see bench/chaos_kill.py).

Last line, one JSON object: {"conversations", "updates", "faults_injected", "lost",
"duplicated", "outbox_undelivered", ...}. "conversations" and "updates" add up phases 1 and 3;
"faults_injected" counts the connection cuts, the flaky-output period (one) and the kills;
"resent_after_kill" counts replies Telegram got twice because the process died between sending
and recording them (at least once, by design: not a duplicate): "resent_delivered_before_kill"
of them the fake had answered before the kill, "resent_in_flight_at_kill" were still on their
way ("resent_per_kill": both per kill); "held_at_kill" counts the replies the killed processes
held (sent or not).
Usage: python bench/chaos.py [--conversations N] [--concurrency C] [--faults F] [--kills K]
       [--kill-conversations N] [--kill-seed S]   (--help lists every option)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.chaos_kill import add_arguments as add_kill_arguments
from bench.chaos_kill import phase_kills
from bot import migrate
from bot.channels.testing import TestChannel, TestChat
from bot.config import load_settings
from bot.core.engine import Engine
from bot.core.outage import TRANSIENT_ERRORS
from bot.core.output import SendResult
from bot.db import create_engine, session_factory
from bot.messages import Incoming, Outgoing
from bot.outbox import Limits, Sender
from bot.services.cases import classify
from bot.services.comms import notify
from bot.services.org.importer import load_demo
from handlers import build_router
from models import (
    Building,
    Category,
    ChannelIdentity,
    Compound,
    OrgUnit,
    OutboxMessage,
    ProcessedUpdate,
    Request,
)

PG_ADMIN = os.environ.get(
    "REDGRID_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEXT = "楼道灯坏了好几天了，晚上黑漆漆的"
FAST = Limits(
    global_rate=1e6, chat_rate=1e6, group_rate_per_minute=1e6,
    global_burst=1e6, chat_burst=1e6, group_burst=1e6,
)  # fmt: skip
_update_ids = itertools.count(1)


class Stats:
    def __init__(self) -> None:
        self.updates = 0  # distinct updates sent
        self.deliveries = 0  # attempts, redeliveries included
        self.retried = 0
        self.failed = 0  # updates the engine answered with an apology (a handler crashed)
        self.errors: dict[str, int] = defaultdict(int)
        self.done = 0


async def send(engine: Engine, chat: TestChat, stats: Stats, kind: str, **fields: object) -> None:
    """One update, redelivered with the same id until the engine takes it."""
    incoming: Incoming = chat.incoming(kind, update_id=f"c{next(_update_ids)}", **fields)
    stats.updates += 1
    for attempt in range(100):
        stats.deliveries += 1
        try:
            result = await engine.process(incoming)
        except (*TRANSIENT_ERRORS, DBAPIError) as exc:
            stats.retried += 1
            stats.errors[type(exc).__name__] += 1
            await asyncio.sleep(min(2.0, 0.05 * (attempt + 1)))
            continue
        if result.status == "failed":
            stats.failed += 1
        return
    raise RuntimeError(f"update {incoming.update_id} never went through")


async def conversation(
    engine: Engine, chat: TestChat, ids: dict[str, object], stats: Stats
) -> None:
    """Onboard and report, pressing buttons by their data (the replies may be lost)."""
    await send(engine, chat, stats, "command", command="start")
    for data in ids["address"]:  # type: ignore[attr-defined]
        await send(engine, chat, stats, "button", button_data=data)
    await send(engine, chat, stats, "text", text="3-301")
    await send(engine, chat, stats, "button", button_data="v1:skipphone")
    await send(engine, chat, stats, "text", text=TEXT)
    for data in ids["report"]:  # type: ignore[attr-defined]
        await send(engine, chat, stats, "button", button_data=data)
    stats.done += 1


async def demo_ids(sessions: async_sessionmaker[AsyncSession]) -> dict[str, object]:
    async with sessions() as session:
        compound = (
            await session.execute(select(Compound).where(Compound.name_zh == "海盛·新阳光地带"))
        ).scalar_one()
        building = (
            await session.execute(
                select(Building).where(Building.compound_id == compound.id).limit(1)
            )
        ).scalar_one()
        street = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "chaohai"))
        ).scalar_one()
        community = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun"))
        ).scalar_one()
        slug = classify.suggest(TEXT, top=1)[0].category
        category = (
            await session.execute(select(Category).where(Category.slug == slug))
        ).scalar_one()
    report = ["v1:rdone", f"v1:rcat:{slug}"]
    if category.asks_location:
        report.append("v1:rplace:common")
    # "rnew" answers the similar-requests offer; with none offered it is a harmless stale press.
    report += ["v1:rurg:0", "v1:rnew", "v1:rsubmit"]
    address = [
        f"v1:st:{street.id}", f"v1:cm:{community.id}:0", f"v1:cp:{compound.id}",
        f"v1:bd:{building.id}",
    ]  # fmt: skip
    return {"address": address, "report": report}


async def terminator(
    admin: asyncpg.Connection, name: str, stats: Stats, total: int, faults: int
) -> int:
    """Cut every connection to the bench database at evenly spread points of progress."""
    killed = 0
    for index in range(faults):
        mark = total * (index + 1) // (faults + 1)
        while stats.done < mark:  # noqa: ASYNC110 (polling a counter is the point)
            await asyncio.sleep(0.05)
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        killed += sum(1 for row in rows if row[0])
        print(
            f"fault {index + 1}/{faults}: terminated {len(rows)} connections at {stats.done} done"
        )
    return killed


async def phase_faults(
    url: str, name: str, admin: asyncpg.Connection, args: argparse.Namespace
) -> dict[str, object]:
    settings = load_settings(database={"url": url})
    db = create_engine(url, pool_size=args.concurrency)
    sessions = session_factory(db)
    channel = TestChannel()
    sender = Sender(
        sessions=sessions, channels={"test": channel}, settings=settings.outbox, tz=settings.tz,
        worker_id="chaos", limits=FAST, record_delay=0.05, lease=5.0,
    )  # fmt: skip
    engine = Engine(sessions=sessions, settings=settings, router=build_router(),
                    outputs={"test": channel}, sender=sender)  # fmt: skip
    ids = await demo_ids(sessions)
    stats = Stats()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.conversations):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await conversation(engine, TestChat(engine, channel, user_id=f"chaos-{i}"), ids, stats)

    started = time.perf_counter()
    killer = asyncio.create_task(terminator(admin, name, stats, args.conversations, args.faults))
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    killed = await killer
    elapsed = time.perf_counter() - started
    # Recovery: replies whose delivery was cut are taken over by the paced sender after their
    # lease; run it until nothing is left for the channel.
    undelivered = await drain(sessions, sender, "test")
    async with sessions() as session:
        processed = (
            await session.execute(
                select(func.count())
                .select_from(ProcessedUpdate)
                .where(ProcessedUpdate.channel == "test")
            )
        ).scalar_one()
        per_resident = (
            await session.execute(
                select(ChannelIdentity.external_id, func.count(Request.id))
                .outerjoin(Request, Request.reporter_id == ChannelIdentity.person_id)
                .where(ChannelIdentity.channel == "test")
                .group_by(ChannelIdentity.external_id)
            )
        ).all()
    counts = {user: n for user, n in per_resident}
    lost_requests = sum(1 for i in range(args.conversations) if counts.get(f"chaos-{i}", 0) == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    await db.dispose()
    return {
        "seconds": round(elapsed, 1),
        "updates": stats.updates,
        "deliveries": stats.deliveries,
        "redelivered": stats.retried,
        "errors": dict(stats.errors),
        "handler_failures": stats.failed,
        "connections_killed": killed,
        "faults": args.faults,
        "processed_updates": processed,
        "lost_updates": stats.updates - processed,
        "lost_requests": lost_requests,
        "duplicated": duplicated,
        "outbox_undelivered": undelivered,
    }


async def drain(
    sessions: async_sessionmaker[AsyncSession], sender: Sender, channel: str, limit_s: float = 120.0
) -> int:
    """Run the sender until no row for `channel` is left pending/sending; returns what is left."""
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    deadline = time.monotonic() + limit_s
    left = -1
    while time.monotonic() < deadline:
        async with sessions() as session:
            left = (
                await session.execute(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.channel == channel, OutboxMessage.status != "sent")
                )
            ).scalar_one()
        if left == 0:
            break
        await asyncio.sleep(0.5)
    stop.set()
    await task
    return int(left)


class FlakyChannel(TestChannel):
    """Answers 429, 5xx and timeouts until `healthy_at`, then delivers; records the order."""

    def __init__(self, healthy_at: float) -> None:
        super().__init__("flaky")
        self.rate_limited = True
        self.healthy_at = healthy_at
        self.rng = random.Random(7)
        self.faults = 0

    async def send(self, chat_id: str, message: Outgoing) -> SendResult:
        if time.monotonic() < self.healthy_at:
            self.faults += 1
            roll = self.rng.random()
            if roll < 0.3:
                return SendResult(ok=False, retry_after=0.3, error="429 Too Many Requests")
            if roll < 0.6:
                return SendResult(ok=False, error="502 Bad Gateway")
            await asyncio.sleep(0.2)
            return SendResult(ok=False, error="timeout")
        return await super().send(chat_id, message)


async def phase_flaky_output(url: str, args: argparse.Namespace) -> dict[str, object]:
    # No quiet hours: run in the district's night, they would hold every push till morning.
    settings = load_settings(
        database={"url": url}, outbox={"quiet_start": "00:00", "quiet_end": "00:00"}
    )
    db = create_engine(url)
    sessions = session_factory(db)
    channel = FlakyChannel(healthy_at=0.0)
    chats = [f"flaky-{i}" for i in range(args.flaky_chats)]
    async with sessions() as session, session.begin():
        from models import Person

        people = []
        for chat in chats:
            person = Person(display_name=chat, language="zh")
            session.add(person)
            await session.flush()
            session.add(
                ChannelIdentity(
                    person_id=person.id, channel="flaky", external_id=chat, chat_id=chat
                )
            )
            people.append(person.id)
    for n in range(args.flaky_pushes):  # one transaction per push: commit order = intended order
        async with sessions() as session, session.begin():
            for person_id in people:
                await notify.notify_person(
                    session,
                    person_id=person_id,
                    render=lambda _loc, n=n: Outgoing(text=f"push {n}"),
                )
    sender = Sender(
        sessions=sessions, channels={"flaky": channel}, settings=settings.outbox, tz=settings.tz,
        worker_id="flaky", limits=FAST, backoff_base=0.1, backoff_cap=1.0, max_attempts=10_000,
        poll_interval=0.1,
    )  # fmt: skip
    started = time.perf_counter()
    channel.healthy_at = time.monotonic() + args.flaky_seconds
    undelivered = await drain(sessions, sender, "flaky", limit_s=args.flaky_seconds + 120)
    elapsed = time.perf_counter() - started
    expected = [f"push {n}" for n in range(args.flaky_pushes)]
    out_of_order = sum(1 for chat in chats if [m.text for m in channel.sent[chat]] != expected)
    delivered = sum(len(channel.sent[chat]) for chat in chats)
    await db.dispose()
    return {
        "seconds": round(elapsed, 1),
        "pushes": len(chats) * args.flaky_pushes,
        "delivered": delivered,
        "faults_answered": channel.faults,
        "chats_out_of_order": out_of_order,
        "outbox_undelivered": undelivered,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--faults", type=int, default=5)
    parser.add_argument("--flaky-seconds", type=float, default=8.0)
    parser.add_argument("--flaky-chats", type=int, default=20)
    parser.add_argument("--flaky-pushes", type=int, default=10)
    add_kill_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    classify.warm_up()
    base = make_url(PG_ADMIN)
    name = f"redgrid_chaos_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        host=base.host, port=base.port or 5432, user=base.username, database=base.database
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        setup = create_engine(url)
        await migrate.upgrade(setup)
        async with session_factory(setup)() as session, session.begin():
            await load_demo(session)
        ids = await demo_ids(session_factory(setup))
        await setup.dispose()
        faults = await phase_faults(url, name, admin, args)
        print("database faults", json.dumps(faults))
        flaky = await phase_flaky_output(url, args)
        print("output faults", json.dumps(flaky))
        kills = await phase_kills(url, {**ids, "text": TEXT}, args)
        print("process kills", json.dumps(kills))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    lost = (
        int(faults["lost_updates"]) + int(faults["lost_requests"])  # type: ignore[call-overload]
        + kills["lost_updates"] + kills["lost_requests"]
    )  # fmt: skip
    undelivered = (
        int(faults["outbox_undelivered"]) + int(flaky["outbox_undelivered"])  # type: ignore[call-overload]
        + kills["outbox_undelivered"]
    )  # fmt: skip
    print(
        json.dumps(
            {
                "conversations": args.conversations + kills["conversations"],
                "updates": int(faults["updates"]) + kills["updates"],  # type: ignore[call-overload]
                "faults_injected": int(faults["faults"])  # type: ignore[call-overload]
                + (1 if flaky["faults_answered"] else 0)
                + kills["kills"],
                "lost": lost,
                "duplicated": int(faults["duplicated"]) + kills["duplicated"],  # type: ignore[call-overload]
                "outbox_undelivered": undelivered,
                "connections_killed": faults["connections_killed"],
                "redelivered": faults["redelivered"],
                "handler_failures": faults["handler_failures"],
                "pushes": flaky["pushes"],
                "pushes_delivered": flaky["delivered"],
                "output_faults_answered": flaky["faults_answered"],
                "chats_out_of_order": flaky["chats_out_of_order"],
                "process_kills": kills["kills"],
                "kill_conversations": kills["conversations"],
                "kill_updates": kills["updates"],
                "kill_updates_redelivered": kills["updates_redelivered"],
                "kill_committed_before_kill": kills["committed_before_kill"],
                "kill_replies": kills["replies"],
                "resent_after_kill": kills["resent_after_kill"],
                "resent_delivered_before_kill": kills["resent_delivered_before_kill"],
                "resent_in_flight_at_kill": kills["resent_in_flight_at_kill"],
                "resent_unexplained": kills["resent_unexplained"],
                "held_at_kill": kills["held_at_kill"],
                "resent_per_kill": [
                    [p["resent_delivered"], p["resent_in_flight"]] for p in kills["kill_points"]
                ],
                "unexpected_processed": kills["unexpected_processed"],
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
