"""The WeCom channel over the test database: the callback served on loopback (real HTTP), the
fake WeCom API behind the channel, a driver playing WeCom, and the test channel beside it for
residents. The sender waits on the test's clock, never for real."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.telegram_webhook import RunningServer, serve_webhook
from bot.channels.testing import TestChannel, TestChat
from bot.channels.wecom import CALLBACK_PATH
from bot.channels.wecom.callback import Callback, make_wecom_router
from bot.channels.wecom.outbound import WecomChannel
from bot.channels.wecom.robots import RobotChannel
from bot.channels.wecom.setup import make_callback, make_channel, make_robots
from bot.config import Settings, load_settings
from bot.core.engine import Engine
from bot.core.flood import FloodGate
from bot.db import session_factory
from bot.outbox import Sender
from models import ChannelIdentity, OrgUnit, Person, Role, RoleGrant
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    Clock,
    TestDB,
    _migrated,
    create_postgres_database,
    drop_postgres_database,
    engine_and_sender,
)
from tests.e2e.conftest import UNLIMITED
from tests.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWecomAPI
from tests.fakes.wecom_callback import AES_KEY, TOKEN, WecomDriver, WecomMember

ROBOT_KEY = "robot-key-heshun"
GRID_ROBOT_KEY = "robot-key-heshun-1"
_people = itertools.count(1)


class SleepyClock(Clock):
    """The test clock, moved by the sender's waits."""

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            # At least a microsecond, or a wait of a few nanoseconds would never end.
            self.advance(microseconds=max(1, math.ceil(seconds * 1_000_000)))
        await asyncio.sleep(0)


def wecom_settings(api: FakeWecomAPI, upload_dir: Path, **wecom: Any) -> Settings:
    values: dict[str, Any] = {
        "enabled": True,
        "corp_id": CORP_ID,
        "agent_id": AGENT_ID,
        "secret": SECRET,
        "token": TOKEN,
        "encoding_aes_key": AES_KEY,
        "api_base_url": api.base_url,
        "robots": {"heshun": ROBOT_KEY, "heshun-1": GRID_ROBOT_KEY},
        **wecom,
    }
    return load_settings(wecom=values, webchat={"upload_dir": str(upload_dir)})


@dataclass
class WecomRig:
    settings: Settings
    api: FakeWecomAPI
    channel: WecomChannel
    robots: RobotChannel
    callback: Callback
    engine: Engine
    sender: Sender
    server: RunningServer
    driver: WecomDriver
    db: TestDB
    clock: SleepyClock
    tests: TestChannel

    async def close(self) -> None:
        await self.driver.close()
        await self.server.stop()
        await self.channel.api.close()
        await self.robots.api.close()
        await self.api.close()

    async def pump(self) -> None:
        """Deliver what is due: pushes, then whatever the turns in flight started."""
        await self.callback.idle()
        for _ in range(200):
            if not await self.sender.pump():
                return

    def resident(self, user_id: str | None = None) -> TestChat:
        return TestChat(self.engine, self.tests, user_id=user_id or f"r{next(_people)}")

    async def member(
        self, *, role: Role | None = Role.grid_staff, unit: str = "heshun-1"
    ) -> WecomMember:
        """A new person with a WeCom identity (as `redgrid org import` makes one from a
        `wecom_userid`), holding `role` on the unit with code `unit`."""
        userid = f"wx-{unit}-{next(_people)}"
        async with self.db.sessions() as session, session.begin():
            person = Person(display_name=userid, language="zh")
            session.add(person)
            await session.flush()
            session.add(
                ChannelIdentity(
                    person_id=person.id, channel="wecom", external_id=userid, chat_id=userid
                )
            )
            if role is not None:
                found = await session.execute(select(OrgUnit).where(OrgUnit.code == unit))
                session.add(
                    RoleGrant(person_id=person.id, role=role, unit_id=found.scalar_one().id)
                )
        return self.driver.member(userid)


async def open_rig(db: TestDB, clock: SleepyClock, upload_dir: Path, **wecom: Any) -> WecomRig:
    api = FakeWecomAPI(now=clock)
    await api.start()
    api.robot_keys.update({ROBOT_KEY, GRID_ROBOT_KEY})
    settings = wecom_settings(api, upload_dir, **wecom)
    channel = make_channel(settings, db.sessions, clock)
    robots = make_robots(settings)
    tests = TestChannel()
    outputs = {channel.name: channel, robots.name: robots, tests.name: tests}
    engine, sender = engine_and_sender(
        db,
        settings,
        clock,
        outputs,
        worker_id="wecom-test",
        limits=UNLIMITED,
        flood=FloodGate(0),
        sleep=clock.sleep,
    )
    callback = make_callback(
        settings, engine=engine, channel=channel, sessions=db.sessions, clock=clock
    )
    server = await serve_webhook(make_wecom_router(callback))
    url = f"http://127.0.0.1:{server.port}{CALLBACK_PATH}"
    rig = WecomRig(
        settings,
        api,
        channel,
        robots,
        callback,
        engine,
        sender,
        server,
        None,
        db,
        clock,
        tests,  # type: ignore[arg-type]
    )
    rig.driver = WecomDriver(url, api=api, clock=clock, settle=rig.pump)
    return rig


@pytest.fixture
def sleepy_clock(clock: Clock) -> SleepyClock:
    return SleepyClock(clock.now)


@pytest.fixture
async def rig(
    demo: TestDB, sleepy_clock: SleepyClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[WecomRig]:
    """The channel on the demo district, in the shared test database (one connection: a test
    whose deliveries reach several members at once takes `own_rig`)."""
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    opened = await open_rig(demo, sleepy_clock, tmp_path / "uploads")
    try:
        yield opened
    finally:
        await opened.close()


@dataclass
class OwnDB:
    """A migrated database of the test's own, with the demo district: sessions really run
    side by side (the shared test database runs every session on one connection)."""

    kind: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture(params=["sqlite", "postgres"])
async def own_rig(
    request: pytest.FixtureRequest,
    sleepy_clock: SleepyClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[WecomRig]:
    """The channel on a database of its own (concurrent turns)."""
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/own.sqlite3"
    else:
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        url, name = await create_postgres_database("redgrid_wecom")
    engine = await _migrated(url, demo=True)
    own = OwnDB(request.param, engine, session_factory(engine))
    opened = await open_rig(own, sleepy_clock, tmp_path / "uploads")  # type: ignore[arg-type]
    try:
        yield opened
    finally:
        await opened.close()
        await engine.dispose()
        if name is not None:
            await drop_postgres_database(name)
