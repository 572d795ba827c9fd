"""Stopping while the flood limit holds a web chat message: it is handled if its turn comes
within the grace period, else answered 503 (the page sends it again with the same key), and
the message sent again later is handled exactly once. Never a 500, never a lost message."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.core.flood import FloodGate
from models import ProcessedUpdate
from tests.web.conftest import Web, web  # noqa: F401 (the fixture)


class StepClock:
    """A monotonic clock the test sets (the flood gate's)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _handled(app_web: Web, key: str) -> int:
    async with app_web.db.sessions() as session:
        count = await session.execute(
            select(func.count())
            .select_from(ProcessedUpdate)
            .where(ProcessedUpdate.update_id.like(f"%{key}%"))
        )
        return int(count.scalar_one())


async def test_a_held_message_is_given_back_at_shutdown_and_handled_on_retry(
    web: Web,  # noqa: F811
) -> None:
    session = await web.start()
    csrf = str(session["csrf"])
    web.app.state.web.engine.flood = FloodGate(1)
    first = await web.send(csrf, "hold-key-01", kind="text", text="/help")
    assert first.status_code == 200
    held = asyncio.create_task(web.send(csrf, "hold-key-02", kind="text", text="/help"))
    await asyncio.sleep(0.3)
    assert not held.done()  # waiting for the minute's slot
    web.app.state.web.engine.stop_holding()
    response = await asyncio.wait_for(held, 5)
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert await _handled(web, "hold-key-02") == 0
    # The next process (no stop, room in the limit) gets the page's retry, same key: once.
    engine = web.app.state.web.engine
    engine.stopping, engine.flood = asyncio.Event(), FloodGate(0)
    again = await web.send(csrf, "hold-key-02", kind="text", text="/help")
    assert again.status_code == 200 and again.json()["status"] == "handled"
    assert await _handled(web, "hold-key-02") == 1
    assert (await web.send(csrf, "hold-key-02", kind="text", text="/help")).json()[
        "status"
    ] == "duplicate"


async def test_a_message_due_within_the_grace_period_is_handled_at_shutdown(
    web: Web,  # noqa: F811
) -> None:
    session = await web.start()
    csrf = str(session["csrf"])
    clock = StepClock()
    engine = web.app.state.web.engine
    engine.flood = FloodGate(1, clock=clock)
    assert (await web.send(csrf, "grace-key-01", kind="text", text="/help")).status_code == 200
    clock.now += 59.5  # the next slot frees in half a second
    held = asyncio.create_task(web.send(csrf, "grace-key-02", kind="text", text="/help"))
    await asyncio.sleep(0.1)
    engine.stop_holding()
    response = await asyncio.wait_for(held, 5)
    assert response.status_code == 200 and response.json()["status"] == "handled"
    assert await _handled(web, "grace-key-02") == 1
