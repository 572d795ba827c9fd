"""Long polling that confirms an update only after its handling was committed.

Telegram confirms every update below the `offset` of the next getUpdates call. The loop asks
for the next offset only once the whole batch was handled (chats in parallel, each chat's
updates in order), so a process killed at any moment loses nothing: what it had not finished
comes again and the engine drops what it had already committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.channels.telegram_base import TelegramAdapter
from bot.channels.telegram_common import MalformedUpdate
from bot.core.flood import Deferred

log = logging.getLogger(__name__)

UpdateHandler = Callable[[dict[str, Any]], Awaitable[bool]]


def chat_key(update: dict[str, Any]) -> str:
    """The chat an update belongs to (its updates are handled in order)."""
    message = (
        update.get("message")
        or (update.get("callback_query") or {}).get("message")
        or update.get("my_chat_member")
    )
    if message and "chat" in message:
        return str(message["chat"]["id"])
    user = (update.get("callback_query") or {}).get("from") or {}
    return str(user.get("id", update["update_id"]))


async def handle_batch(
    updates: Sequence[dict[str, Any]], handle_update: UpdateHandler, *, concurrency: int
) -> int | None:
    """Handle a batch; returns the lowest update id that was not handled (None: all were)."""
    chats: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for update in updates:
        chats[chat_key(update)].append(update)
    gate = asyncio.Semaphore(max(1, concurrency))
    failed: list[int] = []

    async def run_chat(chat_updates: list[dict[str, Any]]) -> None:
        async with gate:
            for update in chat_updates:
                try:
                    handled = await handle_update(update)
                except MalformedUpdate as bad:
                    # Coming again cannot mend it: confirmed with the batch, never answered.
                    log.warning("telegram update %s dropped: %s", update.get("update_id"), bad)
                    handled = True
                except Exception as exc:
                    # A database error was logged by the engine in one line with its cause.
                    database = isinstance(exc, (DBAPIError, Deferred))
                    log.log(
                        logging.DEBUG if database else logging.WARNING,
                        "telegram update %s not handled; it will come again",
                        update["update_id"],
                        exc_info=not database,
                    )
                    handled = False
                if not handled:
                    failed.append(int(update["update_id"]))
                    return  # keep the chat's order: its later updates wait for this one

    await asyncio.gather(*(run_chat(chat_updates) for chat_updates in chats.values()))
    return min(failed) if failed else None


async def _until(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def poll(
    client: TelegramAdapter,
    handle_update: UpdateHandler,
    *,
    stop: asyncio.Event,
    poll_timeout: float = 30.0,
    limit: int = 100,
    concurrency: int = 64,
    retry_delay: float = 1.0,
) -> None:
    """Fetch and handle updates until `stop` is set; confirms handled ones on the way out."""
    offset: int | None = None
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            fetch = asyncio.ensure_future(
                client.get_updates(offset=offset, poll_timeout=poll_timeout, limit=limit)
            )
            await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                break
            try:
                updates = fetch.result()
            except Exception as exc:
                log.warning("telegram getUpdates failed: %s", exc)
                await _until(stop, retry_delay)
                continue
            if not updates:
                continue
            first_failed = await handle_batch(updates, handle_update, concurrency=concurrency)
            if first_failed is None:
                offset = max(int(u["update_id"]) for u in updates) + 1
            else:
                offset = first_failed
                await _until(stop, retry_delay)
        if offset is not None:
            # Confirm the last batch; what this call returns is left for the next process.
            try:
                await client.get_updates(offset=offset, poll_timeout=0, limit=1)
            except Exception as exc:  # the next process gets them again: no loss
                log.info("telegram: could not confirm the last updates: %s", exc)
    finally:
        stopped.cancel()
