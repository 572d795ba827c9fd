"""The core under test with flows of the test's own: a router wired to a real engine, on both
databases, through the in-product test channel."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from bot.channels.testing import TestChannel, TestChat
from bot.config import Settings
from bot.core.router import Router
from tests.conftest import Clock, TestDB, make_engine

Wire = Callable[..., TestChat]
_people = itertools.count(1)


@pytest.fixture
def wire(db: TestDB, settings: Settings, clock: Clock) -> Wire:
    """`wire(router)`: a chat with an engine that routes through `router`; with
    `supports_buttons=False`, on a channel that cannot show buttons."""

    def wired(router: Router, *, supports_buttons: bool = True) -> TestChat:
        channel = TestChannel(
            "test" if supports_buttons else "plain", supports_buttons=supports_buttons
        )
        engine = make_engine(db, settings, clock, channel, router=router)
        return TestChat(engine, channel, user_id=f"core-{next(_people)}", display_name="Li Wei")

    return wired
