"""Replayed callbacks: a timestamp and nonce seen before with another body is refused.

The same body again is WeChat retrying (or delivering twice): let through, and the update id
makes it one request. Without this, plain mode's signature (over token, timestamp and nonce
only) could be copied onto any body. Rows older than twice the allowed skew are deleted now
and then: their timestamps are refused as stale anyway.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.wechat.sql import insert_ignoring
from models import WechatNonce

PRUNE_EVERY = 200


class NonceBook:
    """Remembers callbacks' (timestamp, nonce) pairs in the database, shared by workers."""

    def __init__(self, *, skew_s: int) -> None:
        self._keep = timedelta(seconds=2 * skew_s)
        self._seen = 0

    async def admit(
        self, session: AsyncSession, *, timestamp: str, nonce: str, body: bytes, now: datetime
    ) -> bool:
        """False when this pair came before with a different body."""
        digest = hashlib.sha256(body).hexdigest()
        inserted = await session.execute(
            insert_ignoring(session, WechatNonce)
            .values(nonce=nonce[:64], timestamp=timestamp[:20], digest=digest, at=now)
            .on_conflict_do_nothing()
            .returning(WechatNonce.nonce)
        )
        self._seen += 1
        if self._seen % PRUNE_EVERY == 0:
            await session.execute(delete(WechatNonce).where(WechatNonce.at < now - self._keep))
        if inserted.first() is not None:
            return True
        earlier = await session.scalar(
            select(WechatNonce.digest).where(
                WechatNonce.nonce == nonce[:64], WechatNonce.timestamp == timestamp[:20]
            )
        )
        return earlier == digest
