"""One access token for all workers: kept in the database with its expiry, refreshed by one
worker at a time holding the row's lock, re-read before refreshing after a 40001.

WeChat invalidates the old token a few minutes after a new one is fetched, so workers each
fetching their own would knock each other's out; the stable-token endpoint is preferred
because it returns the valid token instead of rotating it. WeCom's app token is kept the same
way (its key names the corp and the app; `gettoken` is its fetch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat.sql import insert_ignoring
from models import WechatToken

# A token this close to its expiry is refreshed before use.
MARGIN = timedelta(minutes=5)
# Fetch a token from the vendor: (token, seconds it lives); True asks for a new one.
Fetch = Callable[[bool], Awaitable[tuple[str, int]]]


class TokenStore:
    """An account's access token, cached in this process and shared through the database
    under `key` (a service account's app id, `wecom:<corp>:<agent>`)."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        key: str,
        fetch: Fetch,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._fetch = fetch
        self._clock = clock
        self._token = ""
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0  # fetched from WeChat by this process (tests, metrics)

    def _valid(self, expires: datetime | None) -> bool:
        return expires is not None and expires - MARGIN > self._clock()

    async def get(self) -> str:
        """A valid token: this process's, the database's, or a new one."""
        if self._token and self._valid(self._expires):
            return self._token
        return await self.refresh(stale="")

    async def refresh(self, *, stale: str) -> str:
        """A token other than `stale` (the one WeChat just refused; "" when none was): taken
        from the database if another worker already refreshed it, else fetched under the
        row's lock."""
        async with self._lock, self._sessions() as session, session.begin():
            await session.execute(
                insert_ignoring(session, WechatToken)
                .values(app_id=self._key, access_token="", updated_at=self._clock())
                .on_conflict_do_nothing()
            )
            row = (
                await session.execute(
                    select(WechatToken)
                    .where(WechatToken.app_id == self._key)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            if row.access_token and row.access_token != stale and self._valid(row.expires_at):
                token, expires = row.access_token, row.expires_at
            else:
                token, lives = await self._fetch(bool(stale))
                expires = self._clock() + timedelta(seconds=lives)
                row.access_token, row.expires_at, row.updated_at = token, expires, self._clock()
                self.refreshes += 1
        assert expires is not None
        self._token, self._expires = token, expires
        return token
