"""`redgrid people erase`: the admin's erase, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load_settings
from bot.db import create_engine, session_factory
from bot.services.cases import intake
from bot.services.org.erasure import ERASED
from bot.services.org.importer import DEMO_FILE
from models import AuditLog, Building, Category, ChannelIdentity, Person, Request, utcnow
from tests.conftest import PG_SKIP_REASON, PG_URL, create_postgres_database, drop_postgres_database

runner = CliRunner()
PHONE = "13987654321"


@pytest.fixture(params=["sqlite", "postgres"])
def url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated database holding the demo district, named by the environment."""
    name = None
    if request.param == "sqlite":
        database = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    elif not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    else:
        database, name = asyncio.run(create_postgres_database("redgrid_cli"))
    monkeypatch.setenv("REDGRID_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("REDGRID_DATABASE__URL", database)
    monkeypatch.setenv("REDGRID_WEBCHAT__UPLOAD_DIR", str(tmp_path / "uploads"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["org", "import", str(DEMO_FILE)]).exit_code == 0
    yield database
    if name is not None:
        asyncio.run(drop_postgres_database(name))


async def _seed(url: str) -> int:
    """A resident with a name, phone, room and one request; returns their id."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            building = (await session.execute(select(Building).limit(1))).scalar_one()
            person = Person(
                display_name="柯南道",
                phone=PHONE,
                unit_room="3-502",
                compound_id=building.compound_id,
                building_id=building.id,
            )
            session.add(person)
            await session.flush()
            session.add(
                ChannelIdentity(person_id=person.id, channel="web", external_id="w1", chat_id="w1")
            )
            category = (await session.execute(select(Category).limit(1))).scalar_one()
            await intake.submit(
                session,
                reporter=person,
                category=category,
                description="柯南道家门口的井盖丢了",
                building_id=building.id,
                compound_id=building.compound_id,
                now=utcnow(),
                settings=load_settings(),
            )
            return person.id
    finally:
        await engine.dispose()


async def _state(url: str, person_id: int) -> tuple[Person, str, list[AuditLog]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            person = await session.get(Person, person_id)
            assert person is not None
            found = select(Request.description).where(Request.reporter_id == person_id)
            description = (await session.execute(found)).scalar_one()
            audit = await session.execute(select(AuditLog).where(AuditLog.action == "people.erase"))
            return person, description, list(audit.scalars())
    finally:
        await engine.dispose()


def test_erase_shows_the_person_masked_and_erases_on_yes(url: str) -> None:
    person_id = asyncio.run(_seed(url))
    refused = runner.invoke(app, ["people", "erase", "--person", str(person_id)], input="n\n")
    assert refused.exit_code == 1 and "nothing erased" in refused.output
    assert "139****4321" in refused.output and "柯**" in refused.output
    assert PHONE not in refused.output and "3-502" not in refused.output
    person, description, audit = asyncio.run(_state(url, person_id))
    assert person.deleted_at is None and description.startswith("柯南道") and audit == []

    done = runner.invoke(app, ["people", "erase", "--person", str(person_id)], input="y\n")
    assert done.exit_code == 0, done.output
    assert f"erased person {person_id}" in done.output
    person, description, audit = asyncio.run(_state(url, person_id))
    assert person.deleted_at is not None and person.phone is None and person.display_name == ""
    assert description == ERASED
    assert [a.target for a in audit] == [f"person:{person_id}"]
    again = runner.invoke(app, ["people", "erase", "--person", str(person_id), "--yes"])
    assert again.exit_code == 1 and "already erased" in again.output


def test_erase_names_an_unknown_person(url: str) -> None:
    result = runner.invoke(app, ["people", "erase", "--person", "99999", "--yes"])
    assert result.exit_code == 1 and "no person 99999" in result.output
    bad = runner.invoke(app, ["people", "erase", "--person", "0"])
    assert bad.exit_code == 2
