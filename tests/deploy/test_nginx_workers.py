"""The deployment as shipped: nginx (Debian's package, deploy/nginx/redgrid.conf) in front of
three `redgrid run` workers on one PostgreSQL database. Residents go through the journey in
the web chat over TLS, each with the page's live stream open; one worker is stopped in the
middle (SIGTERM as systemd stops it, or SIGKILL as a crash). Afterwards every message was
handled exactly once, every resident has one request, every chat reads the same as an
undisturbed one, and each stream saw its chat's rows once each, in order.

Runs only where nginx and PostgreSQL are installed (CI installs nginx-light: .ci/run).
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db import create_engine, session_factory
from models import ChannelIdentity, ProcessedUpdate, Request
from tests.conftest import PG_URL, create_postgres_database, drop_postgres_database
from tests.deploy.cluster import Deployment, nginx_binary, prepare_database
from tests.deploy.residents import JOURNEY, Resident, transcript

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(PG_URL is None, reason="the deployment runs on PostgreSQL"),
    pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt nginx-light)"),
]

RESIDENTS = 12


@pytest.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    url, name = await create_postgres_database("redgrid_deploy")
    await asyncio.to_thread(prepare_database, url, tmp_path)
    cluster = Deployment(url, tmp_path, worker_count=3)
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()
        await drop_postgres_database(name)


async def _journey(resident: Resident, rng: random.Random, done: list[int]) -> None:
    await resident.start()
    for kind, value in JOURNEY:
        await resident.send(kind, value)
        done.append(1)
        await asyncio.sleep(rng.uniform(0.05, 0.4))


async def _stop_one_midway(
    cluster: Deployment, done: list[int], sig: int, stopped_at: list[int]
) -> None:
    while len(done) < RESIDENTS * len(JOURNEY) // 3:  # noqa: ASYNC110 (waiting on progress)
        await asyncio.sleep(0.05)
    await cluster.stop_worker(cluster.workers[1], sig)
    stopped_at.append(len(done))


async def _caught_up(resident: Resident, within: float) -> list[int]:
    """The chat's row ids, once the stream has shown them all (or `within` ran out)."""
    ids = [m["id"] for m in await resident.messages()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not set(ids) <= set(resident.streamed) and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    return ids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_worker_stopped_mid_journey_loses_nothing_and_repeats_nothing(
    deployment: Deployment, sig: int
) -> None:
    rng = random.Random(22)
    clients = [deployment.client(timeout=30.0) for _ in range(RESIDENTS)]
    residents = [Resident(c, f"resident{n:02d}") for n, c in enumerate(clients)]
    streams = [asyncio.create_task(r.stream()) for r in residents]
    done: list[int] = []
    stopped_at: list[int] = []
    try:
        await asyncio.gather(
            _stop_one_midway(deployment, done, sig, stopped_at),
            *(_journey(r, rng, done) for r in residents),
        )
        # Another worker's rows reach an open stream at its next re-read (15 s) at the latest.
        chats = [await _caught_up(r, within=25.0) for r in residents]
        texts = [transcript(await r.messages()) for r in residents]
    finally:
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        for client in clients:
            await client.aclose()

    assert not deployment.workers[1].alive
    print(
        f"stopped after {stopped_at} of {len(done)} messages; retried POSTs "
        f"{sum(r.retries for r in residents)}, duplicates "
        f"{sum(r.statuses.count('duplicate') for r in residents)}, stream reconnects "
        f"{sum(r.reconnects for r in residents)}"
    )
    assert stopped_at[0] < len(done)  # mid-journey
    reference = texts[0]
    assert any("诉求编号" in t for t in reference), reference
    for resident, ids, chat in zip(residents, chats, texts, strict=True):
        assert chat == reference, resident.name  # nothing lost, nothing twice, in order
        assert ids == sorted(set(ids))
        # The stream: each row once, in order (a reconnect resumes after the last id seen).
        assert resident.streamed == ids, (resident.name, resident.reconnects)
    await _each_message_handled_once(deployment.db_url, residents)


async def _each_message_handled_once(url: str, residents: list[Resident]) -> None:
    db = create_engine(url, pool_size=1)
    try:
        async with session_factory(db)() as session:
            for resident in residents:
                channel, chat_id = resident.chat.split(":", 1)
                handled = await session.scalars(
                    select(ProcessedUpdate.update_id).where(
                        ProcessedUpdate.channel == channel,
                        ProcessedUpdate.update_id.like(f"{chat_id}:%"),
                    )
                )
                assert sorted(handled) == sorted(f"{chat_id}:{k}" for k in resident.keys)
                requests = await session.scalar(
                    select(func.count())
                    .select_from(Request)
                    .join(ChannelIdentity, ChannelIdentity.person_id == Request.reporter_id)
                    .where(ChannelIdentity.channel == channel, ChannelIdentity.chat_id == chat_id)
                )
                assert requests == 1, resident.name
    finally:
        await db.dispose()
