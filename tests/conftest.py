"""Database fixtures: every database test runs on SQLite and, when a server answers, PostgreSQL.

Each test gets `db`: a connection inside an outer transaction that is rolled back at the end;
sessions made from `db.sessions` join it through savepoints, so code under test may commit.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot import migrate
from bot.db import create_engine

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_admin_url() -> str | None:
    """The URL of a PostgreSQL server for tests, or None when there is none."""
    url = os.environ.get("REDGRID_TEST_POSTGRES_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return DEFAULT_PG
    except OSError:
        return None


PG_URL = postgres_admin_url()
PG_SKIP_REASON = (
    "PostgreSQL suite skipped: no server on 127.0.0.1:5432; "
    "set REDGRID_TEST_POSTGRES_URL=postgresql+asyncpg://user@host:port/db to run it"
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if PG_URL:
        return [f"databases: SQLite and PostgreSQL ({make_url(PG_URL).render_as_string()})"]
    return ["databases: SQLite only. " + PG_SKIP_REASON]


def pytest_terminal_summary(terminalreporter: object, exitstatus: int, config: object) -> None:
    line = "databases covered: SQLite + PostgreSQL" if PG_URL else PG_SKIP_REASON
    terminalreporter.write_line(line)  # type: ignore[attr-defined]


async def create_postgres_database(prefix: str = "redgrid_test") -> tuple[str, str]:
    """Create a fresh database on the test server; returns (url, name)."""
    assert PG_URL
    import asyncpg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    base = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=base.host, port=base.port or 5432, user=base.username, database=base.database
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.set(database=name).render_as_string(hide_password=False), name


async def drop_postgres_database(name: str) -> None:
    """Drop a database made by `create_postgres_database`."""
    assert PG_URL
    import asyncpg

    base = make_url(PG_URL)
    conn = await asyncpg.connect(
        host=base.host, port=base.port or 5432, user=base.username, database=base.database
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def migrated_engine(
    url: str, *, pool_size: int, pool_timeout: float | None = None
) -> AsyncIterator[AsyncEngine]:
    """An engine over the database at `url`, migrated to the head; disposed afterwards."""
    engine = create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout)
    try:
        await migrate.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def migrated_postgres(
    prefix: str, *, pool_size: int, pool_timeout: float | None = None
) -> AsyncIterator[AsyncEngine]:
    """An engine over a fresh, migrated PostgreSQL database of its own (for several workers
    sharing it, each with separately committed connections); the database is dropped afterwards."""
    url, name = await create_postgres_database(prefix)
    try:
        async with migrated_engine(url, pool_size=pool_size, pool_timeout=pool_timeout) as engine:
            yield engine
    finally:
        await drop_postgres_database(name)


@dataclass
class Database:
    """A migrated database for one test session."""

    kind: str
    url: str
    engine: AsyncEngine


@dataclass
class TestDB:
    """What a test gets: its connection (in a rolled-back transaction) and a session factory."""

    __test__ = False  # not a test class, whatever its name

    kind: str
    url: str
    engine: AsyncEngine
    connection: AsyncConnection
    sessions: async_sessionmaker[AsyncSession]


async def _migrated(url: str, *, demo: bool) -> AsyncEngine:
    engine = create_engine(url)
    await migrate.upgrade(engine)
    if demo:
        from bot.services.org.importer import load_demo

        async with async_sessionmaker(engine)() as session, session.begin():
            await load_demo(session)
    return engine


async def _sqlite(tmp_path_factory: pytest.TempPathFactory, *, demo: bool) -> Database:
    path: Path = tmp_path_factory.mktemp("db") / "test.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    return Database("sqlite", url, await _migrated(url, demo=demo))


@pytest.fixture(scope="session")
async def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    database = await _sqlite(tmp_path_factory, demo=False)
    yield database
    await database.engine.dispose()


@pytest.fixture(scope="session")
async def sqlite_demo_database(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Database]:
    database = await _sqlite(tmp_path_factory, demo=True)
    yield database
    await database.engine.dispose()


async def _postgres(*, demo: bool) -> AsyncIterator[Database]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url, name = await create_postgres_database()
    engine = await _migrated(url, demo=demo)
    yield Database("postgres", url, engine)
    await engine.dispose()
    await drop_postgres_database(name)


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[Database]:
    async for database in _postgres(demo=False):
        yield database


@pytest.fixture(scope="session")
async def postgres_demo_database() -> AsyncIterator[Database]:
    async for database in _postgres(demo=True):
        yield database


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> Database:
    """A migrated, empty database, once per kind."""
    return request.getfixturevalue(f"{request.param}_database")  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", "postgres"])
def demo_database(request: pytest.FixtureRequest) -> Database:
    """A migrated database holding the demo district, once per kind."""
    return request.getfixturevalue(f"{request.param}_demo_database")  # type: ignore[no-any-return]


async def _rolled_back(database: Database) -> AsyncIterator[TestDB]:
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        sessions = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield TestDB(database.kind, database.url, database.engine, connection, sessions)
        finally:
            await transaction.rollback()


@pytest.fixture
async def db(database: Database) -> AsyncIterator[TestDB]:
    """A per-test view of an empty database whose changes are all rolled back afterwards."""
    async for view in _rolled_back(database):
        yield view


@pytest.fixture
async def demo(demo_database: Database) -> AsyncIterator[TestDB]:
    """Like `db`, on a database that holds the demo district (loaded once per session)."""
    async for view in _rolled_back(demo_database):
        yield view


# --- whole conversations ----------------------------------------------------------------------

import itertools  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from bot.channels.testing import TestChannel, TestChat  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.core.engine import Engine  # noqa: E402
from bot.core.flood import FloodGate  # noqa: E402
from bot.core.output import OutputChannel  # noqa: E402
from bot.core.router import Router  # noqa: E402

if TYPE_CHECKING:
    from bot.outbox import Sender


class Clock:
    """An injectable clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    # A Tuesday morning in Jimo (09:30 Asia/Shanghai): outside quiet hours.
    return Clock(datetime(2026, 11, 24, 1, 30, tzinfo=UTC))


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    return load_settings()


@dataclass
class Bot:
    """An engine over the test database, with a test channel and a way to open chats."""

    engine: Engine
    channel: TestChannel
    db: TestDB
    clock: Clock

    def chat(self, user_id: str | None = None, *, language_code: str | None = "zh") -> TestChat:
        return TestChat(
            self.engine,
            self.channel,
            user_id=user_id or f"u{next(_users)}",
            language_code=language_code,
        )


_users = itertools.count(1000)


def engine_and_sender(
    db: TestDB,
    settings: Settings,
    clock: Callable[[], datetime],
    outputs: Mapping[str, OutputChannel],
    *,
    worker_id: str = "test",
    limits: Any = None,
    router: Router | None = None,
    sleep: Any = None,
    **engine_options: Any,
) -> tuple[Engine, Sender]:
    """An engine and its sender as production builds them, on the test's database, with the
    product's flows unless a test brings a router of its own (and, with `sleep`, a sender
    that waits on the test's clock)."""
    from bot.outbox import Sender
    from handlers import build_router

    sender = Sender(
        sessions=db.sessions,
        channels=dict(outputs),
        settings=settings.outbox,
        tz=settings.tz,
        clock=clock,
        worker_id=worker_id,
        **({"limits": limits} if limits is not None else {}),
        **({"sleep": sleep} if sleep is not None else {}),
    )
    engine = Engine(
        sessions=db.sessions,
        settings=settings,
        router=router if router is not None else build_router(),
        outputs=dict(outputs),
        sender=sender,
        clock=clock,
        **engine_options,
    )
    return engine, sender


def make_engine(
    db: TestDB,
    settings: Settings,
    clock: Callable[[], datetime],
    channel: TestChannel,
    *,
    router: Router | None = None,
) -> Engine:
    """An engine on the test channel. Conversation tests type faster than people; flood
    control has tests of its own."""
    engine, _sender = engine_and_sender(
        db, settings, clock, {channel.name: channel}, router=router, flood=FloodGate(0)
    )
    return engine


@pytest.fixture
async def bot(demo: TestDB, settings: Settings, clock: Clock) -> Bot:
    channel = TestChannel()
    return Bot(make_engine(demo, settings, clock, channel), channel, demo, clock)
