"""Telegram beside the web chat: a Telegram part that cannot start (getMe or setWebhook
refused, the network down) or that stops with an error is started again in the background,
after a capped, jittered exponential backoff, while the web chat keeps serving. Its state is
kept in a `PartHealth` that `/healthz` shows to operators.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.channels.telegram_base import TelegramAdapter
from bot.config import Settings
from bot.core.engine import Engine
from bot.exceptions import ConfigError
from bot.metrics import PartHealth
from models import utcnow

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 300.0


def backoff(
    attempt: int,
    *,
    first: float = FIRST_DELAY,
    cap: float = MAX_DELAY,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before attempt `attempt + 1`: doubling from `first` up to `cap`, then between
    half and all of it at random, so many processes do not knock at the same moment."""
    ceiling = min(cap, first * 2 ** min(max(attempt - 1, 0), 30))
    return ceiling * (0.5 + rand() / 2)


async def keep_telegram(
    settings: Settings,
    engine: Engine,
    client: TelegramAdapter,
    *,
    stop: asyncio.Event,
    health: PartHealth,
    clock: Callable[[], datetime] = utcnow,
    first_delay: float = FIRST_DELAY,
    max_delay: float = MAX_DELAY,
    **run_options: Any,
) -> None:
    """Run the Telegram channel until `stop`, starting it again after each failure.

    A configuration error is raised at once: waiting does not mend it."""
    from bot.channels.telegram_runtime import run_telegram

    failures = 0

    def started() -> None:
        nonlocal failures
        failures = 0
        health.state, health.since = "running", clock()

    while not stop.is_set():
        health.attempts += 1
        try:
            await run_telegram(
                settings, engine, client, stop=stop, on_started=started, **run_options
            )
            return
        except ConfigError:
            raise
        except Exception as exc:
            failures += 1
            if health.state != "retrying":
                health.state, health.since = "retrying", clock()
            health.last_error = type(exc).__name__
            delay = backoff(failures, first=first_delay, cap=max_delay)
            # The exception's text passes the logging filter (tokens in URLs are masked).
            log.warning(
                "telegram: not running (%s: %s); trying again in %.1f s",
                type(exc).__name__,
                str(exc)[:200],
                delay,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
