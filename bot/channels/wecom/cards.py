"""The cards sent to members and the codes that update them: one row per card (its task id,
ours), holding the latest code WeCom gave for it (from the send, then from each click).

A code updates the card once, within 72 hours; a card without a usable code is not edited
in place, its update goes as a new message instead.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import WecomCard

CODE_LIFETIME = timedelta(hours=72) - timedelta(minutes=10)
PRUNE_EVERY = 200
_remembered = 0


def new_task_id() -> str:
    """A task id unique in the app (letters, digits, `_-@`; at most 128 bytes)."""
    return "rg_" + secrets.token_hex(12)


async def remember(
    session: AsyncSession, *, task_id: str, userid: str, code: str, now: datetime
) -> None:
    """A card was sent to `userid`; `code` (may be empty) updates it. Now and then the
    cards whose last code has lapsed are forgotten: they can no longer be updated."""
    session.add(WecomCard(task_id=task_id, userid=userid, response_code=code or None, code_at=now))
    await session.flush()
    global _remembered
    _remembered += 1
    if _remembered % PRUNE_EVERY == 0:
        await session.execute(delete(WecomCard).where(WecomCard.code_at < now - CODE_LIFETIME))


async def clicked(
    session: AsyncSession, *, task_id: str, userid: str, code: str, now: datetime
) -> None:
    """The member clicked the card: the click's code replaces the one kept."""
    if not code:
        return
    await session.execute(
        update(WecomCard)
        .where(WecomCard.task_id == task_id, WecomCard.userid == userid)
        .values(response_code=code, code_at=now)
        .execution_options(synchronize_session=False)
    )


async def take_code(
    session: AsyncSession, *, task_id: str, userid: str, now: datetime
) -> str | None:
    """The card's code, used up by this call (None: no card of the member's, or no code
    still valid)."""
    card = (
        await session.execute(
            select(WecomCard)
            .where(WecomCard.task_id == task_id, WecomCard.userid == userid)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if card is None or not card.response_code or card.code_at is None:
        return None
    if card.code_at < now - CODE_LIFETIME:
        return None
    code, card.response_code = card.response_code, None
    return code
