"""The unit of work: each update handled once, all or nothing; an outage of the database told
from a bug; numbered choices on a channel without buttons. On both databases, with flows of the
test's own (the engine is what is under test), through the in-product test channel."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot.buttons import ButtonAction, ButtonData
from bot.channels.testing import TestChat
from bot.core.context import Context
from bot.core.flood import Deferred
from bot.core.outage import cause, unavailable
from bot.core.router import Router
from bot.exceptions import UserFacingError
from bot.i18n import t
from models import AuditLog, Conversation, OutboxMessage, Person, ProcessedUpdate
from tests.conftest import Database
from tests.core.conftest import Wire


async def _count(chat: TestChat, model: type, *where: object) -> int:
    async with chat.engine.sessions() as session:
        stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int((await session.execute(stmt)).scalar_one())


async def _chat_row(chat: TestChat) -> Conversation:
    async with chat.engine.sessions() as session:
        return (
            await session.execute(
                select(Conversation).where(
                    Conversation.channel == chat.channel.name, Conversation.chat_id == chat.chat_id
                )
            )
        ).scalar_one()


async def _person(chat: TestChat) -> Person:
    row = await _chat_row(chat)
    async with chat.engine.sessions() as session:
        person = await session.get(Person, row.person_id)
        assert person is not None
        return person


# --- each update once -----------------------------------------------------------------------


async def test_a_repeated_update_id_is_handled_once(wire: Wire) -> None:
    calls: list[str] = []
    router = Router()

    @router.command("ping")
    async def ping(ctx: Context) -> None:
        calls.append(ctx.incoming.update_id)
        ctx.reply("pong")

    chat = wire(router)
    update = chat.incoming("command", command="ping", update_id="again-1")
    assert [m.text for m in await chat.deliver(update)] == ["pong"]
    assert await chat.deliver(update) == []  # redelivered: confirmed, not handled again
    assert chat.last_result is not None and chat.last_result.status == "duplicate"
    assert calls == ["again-1"]
    assert await _count(chat, ProcessedUpdate, ProcessedUpdate.update_id == "again-1") == 1
    assert await _count(chat, OutboxMessage, OutboxMessage.chat_id == chat.chat_id) == 1
    # Update ids are unique per channel: the same id from another channel is another update.
    other = wire(router, supports_buttons=False)
    await other.deliver(other.incoming("command", command="ping", update_id="again-1"))
    assert calls == ["again-1", "again-1"]


# --- all or nothing -------------------------------------------------------------------------


def _half_then(error: Exception) -> Router:
    """A router whose /change starts writing (state, person, a row, a reply) and then fails."""
    router = Router()

    @router.command("change")
    async def change(ctx: Context) -> None:
        ctx.goto("halfway", step=1)
        ctx.person.display_name = "changed"
        ctx.session.add(AuditLog(actor_id=ctx.person.id, action="half"))
        ctx.reply("half done")
        await ctx.session.flush()
        raise error

    return router


async def _nothing_half_written(chat: TestChat) -> None:
    row = await _chat_row(chat)
    assert (row.state, row.data) == ("", {})
    assert (await _person(chat)).display_name == "Li Wei"
    assert await _count(chat, AuditLog, AuditLog.action == "half") == 0
    texts = [m.text for m in chat.messages]
    assert "half done" not in texts


async def test_a_handler_error_leaves_nothing_half_written(wire: Wire) -> None:
    chat = wire(_half_then(RuntimeError("a bug")))
    update = chat.incoming("command", command="change", update_id="bug-1")
    await chat.deliver(update)
    assert chat.last_result is not None and chat.last_result.status == "failed"
    assert chat.texts == [t("zh", "core.sorry")]  # an apology in the person's language
    await _nothing_half_written(chat)
    assert await _count(chat, OutboxMessage, OutboxMessage.chat_id == chat.chat_id) == 1
    # Confirmed, so a channel that delivers it again does not fail on it forever.
    await chat.deliver(update)
    assert chat.last_result is not None and chat.last_result.status == "duplicate"


async def test_a_refusal_is_answered_and_changes_nothing(wire: Wire) -> None:
    chat = wire(_half_then(UserFacingError("core.not_allowed")))
    await chat.send("/change")
    assert chat.last_result is not None and chat.last_result.status == "refused"
    assert chat.texts == [t("zh", "core.not_allowed")]
    await _nothing_half_written(chat)


# --- outage or bug --------------------------------------------------------------------------


def _sqlite_busy(tmp_path: Path) -> OperationalError:
    """A real SQLITE_BUSY: another connection holds the database."""
    path = tmp_path / "held.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("SELECT * FROM t")
    finally:
        other.close()
        holder.close()
    return OperationalError("SELECT * FROM t", {}, caught.value)


def _sqlite_error(statements: list[str], error: type[DBAPIError]) -> DBAPIError:
    connection = sqlite3.connect(":memory:")
    try:
        with pytest.raises(sqlite3.Error) as caught:
            for statement in statements:
                connection.execute(statement)
    finally:
        connection.close()
    return error(statements[-1], {}, caught.value)


def test_sqlite_outages_and_bugs_are_told_apart(tmp_path: Path) -> None:
    busy = _sqlite_busy(tmp_path)
    assert unavailable(busy)
    assert cause(busy) == "database is locked [SQLITE_BUSY]"
    no_table = _sqlite_error(["SELECT * FROM nowhere"], OperationalError)
    assert not unavailable(no_table)  # a bug: retrying would fail forever
    duplicate = _sqlite_error(
        ["CREATE TABLE t (x UNIQUE)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)"],
        IntegrityError,
    )
    assert not unavailable(duplicate)


def test_other_failures_are_told_apart() -> None:
    assert unavailable(Deferred("test:1"))  # held at shutdown: delivered again
    assert unavailable(ConnectionResetError())
    assert unavailable(TimeoutError())
    assert not unavailable(ValueError("a bug"))
    assert not unavailable(KeyError("a bug"))


@pytest.mark.postgres
async def test_postgres_outages_and_bugs_are_told_apart_by_sqlstate(
    postgres_database: Database,
) -> None:
    engine = postgres_database.engine
    async with engine.connect() as holder, engine.connect() as waiter:
        await holder.execute(text("LOCK TABLE processed_updates IN ACCESS EXCLUSIVE MODE"))
        await waiter.execute(text("SET LOCAL lock_timeout = '20ms'"))
        with pytest.raises(DBAPIError) as caught:
            await waiter.execute(text("SELECT count(*) FROM processed_updates"))
    assert unavailable(caught.value)
    assert cause(caught.value).endswith("[55P03]")
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            await connection.execute(text("SELECT 1 / 0"))
    assert not unavailable(caught.value)
    assert cause(caught.value).endswith("[22012]")


async def test_an_outage_leaves_the_update_unconfirmed_for_redelivery(
    wire: Wire, tmp_path: Path
) -> None:
    outage = _sqlite_busy(tmp_path)
    router = Router()

    @router.command("save")
    async def save(ctx: Context) -> None:
        if outage is not None:
            raise outage
        ctx.reply("saved")

    chat = wire(router)
    update = chat.incoming("command", command="save", update_id="outage-1")
    with pytest.raises(OperationalError):
        await chat.deliver(update)
    assert chat.new_messages == []  # no apology: the update will come again
    assert await _count(chat, ProcessedUpdate, ProcessedUpdate.update_id == "outage-1") == 0
    outage = None  # the database is back
    assert [m.text for m in await chat.deliver(update)] == ["saved"]


# --- numbered choices -----------------------------------------------------------------------


PICK = ButtonAction("test.pick", "pick", ("choice",))  # the test's own, not declared


def _picking() -> Router:
    router = Router()

    @router.command("menu")
    async def menu(ctx: Context) -> None:
        ctx.reply(
            "pick one",
            buttons=[[PICK.button("A", "a"), PICK.button("B", "b")]],
        )

    @router.button(PICK)
    async def pick(ctx: Context, data: ButtonData) -> None:
        ctx.reply(f"picked {data.args[0]}")

    async def echo(ctx: Context) -> None:
        ctx.reply(f"text {ctx.incoming.text}")

    router.default = echo
    return router


async def test_a_typed_number_presses_a_choice_on_a_channel_without_buttons(wire: Wire) -> None:
    chat = wire(_picking(), supports_buttons=False)
    await chat.send("/menu")
    assert chat.texts == ["pick one"]
    assert [m.text for m in await chat.send("2")] == ["picked b"]
    assert [m.text for m in await chat.send(" 1 ")] == ["picked a"]  # still the last choices
    assert [m.text for m in await chat.send("3")] == ["text 3"]  # out of range: text
    assert [m.text for m in await chat.send("0")] == ["text 0"]


async def test_a_typed_number_is_text_where_buttons_are_shown(wire: Wire) -> None:
    chat = wire(_picking())
    await chat.send("/menu")
    assert [m.text for m in await chat.send("2")] == ["text 2"]
    assert "_choices" not in (await _chat_row(chat)).data
