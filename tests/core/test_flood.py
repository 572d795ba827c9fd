"""Flood control: past 20 updates a minute a person is told once to slow down, and nothing is
dropped: the held updates are handled afterwards, in order."""

from __future__ import annotations

from bot.core.flood import FloodGate
from tests.conftest import Bot


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_gate_books_slots_a_minute_apart() -> None:
    time = FakeTime()
    gate = FloodGate(3, clock=time)
    assert [gate.admit(("t", "u")) for _ in range(3)] == [(0.0, False)] * 3
    assert gate.admit(("t", "u")) == (60.0, True)
    assert gate.admit(("t", "u")) == (60.0, False)
    assert gate.admit(("t", "other")) == (0.0, False)
    time.now += 61
    # The two held updates took two of this minute's three slots.
    assert gate.admit(("t", "u")) == (0.0, False)
    assert gate.admit(("t", "u")) == (59.0, True)


def test_try_admit_books_a_free_slot_or_says_how_long_and_books_nothing() -> None:
    time = FakeTime()
    gate = FloodGate(2, clock=time)
    assert gate.try_admit(("web", "u")) == 0.0
    time.now += 10
    assert gate.try_admit(("web", "u")) == 0.0
    assert gate.try_admit(("web", "u")) == 50.0
    assert gate.try_admit(("web", "u")) == 50.0  # the refusals took no slot
    time.now += 50
    assert gate.try_admit(("web", "u")) == 0.0
    assert gate.admit(("web", "u")) == (10.0, True)


def test_a_crowded_gate_forgets_idle_people_and_still_counts_the_next() -> None:
    time = FakeTime()
    gate = FloodGate(1, clock=time)
    for n in range(10_001):
        gate.admit(("t", str(n)))
    time.now += 61
    # Forgetting the idle ones must not lose the slot this update books.
    assert gate.admit(("t", "new")) == (0.0, False)
    assert gate.admit(("t", "new"))[0] == 60.0


async def test_flooding_person_is_warned_once_and_nothing_is_dropped(bot: Bot) -> None:
    time = FakeTime()
    bot.engine.flood = FloodGate(20, clock=time)
    bot.engine.sleep = time.sleep
    chat = bot.chat()
    answered = 0
    for _ in range(25):
        await chat.send("/help")
        answered += sum("/new" in t for t in chat.texts)
    slow = [m.text for m in chat.messages if "太快" in m.text]
    assert len(slow) == 1
    assert answered == 25
    # The 21st waited for the minute to pass; the four after it fit in the new minute.
    assert time.slept == [60.0]
