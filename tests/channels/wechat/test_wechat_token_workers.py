"""Three workers on one PostgreSQL database, each on its own connection, find the access token
refused at the same moment: one of them fetches a new one, the others wait for it and take it
(WeChat would invalidate each fetched token with the next)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.tokens import TokenStore
from bot.db import session_factory
from models import utcnow
from tests.conftest import (
    PG_SKIP_REASON,
    PG_URL,
    migrated_postgres,
)
from tests.fakes.wechat_api import APP_ID, APP_SECRET, FakeWechatAPI

WORKERS = 3


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    async with migrated_postgres("redgrid_tokens", pool_size=WORKERS) as engine:
        yield engine


async def test_a_refused_token_is_fetched_again_by_one_worker(pg_engine: AsyncEngine) -> None:
    fake = FakeWechatAPI()
    await fake.start()
    apis = [
        WechatApi(base_url=fake.base_url, app_id=APP_ID, app_secret=APP_SECRET)
        for _ in range(WORKERS)
    ]
    try:
        stores = [
            TokenStore(
                sessions=session_factory(pg_engine),
                key=api.app_id,
                fetch=lambda force, api=api: api.stable_token(force_refresh=force),  # type: ignore[misc]
                clock=utcnow,
            )
            for api in apis
        ]
        first = await asyncio.gather(*(store.get() for store in stores))
        assert len(set(first)) == 1 and fake.token_fetches == 1
        refused = first[0]
        fresh = await asyncio.gather(*(store.refresh(stale=refused) for store in stores))
        assert len(set(fresh)) == 1 and fresh[0] != refused
        assert fake.token_fetches == 2  # one refresh for the three
        assert fake.token == fresh[0]  # the one WeChat holds valid
        assert sum(store.refreshes for store in stores) == 2
    finally:
        for api in apis:
            await api.close()
        await fake.close()
