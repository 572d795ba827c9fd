"""Searching compounds by name: Chinese or English (any case), wildcards taken literally."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.org import places

if TYPE_CHECKING:
    from tests.conftest import TestDB


async def test_search_compounds_by_either_name_with_wildcards_taken_literally(demo: TestDB) -> None:
    async with demo.sessions() as session:
        chinese = await places.search_compounds(session, text="新阳光")
        english = await places.search_compounds(session, text="  new SUNSHINE ")
        assert [c.code for c in chinese] == [c.code for c in english] == ["haisheng-sunshine"]
        assert await places.search_compounds(session, text="%") == []
        assert await places.search_compounds(session, text="_") == []
        assert await places.search_compounds(session, text="   ") == []
        some = await places.search_compounds(session, text="a", limit=2)
        assert len(some) == 2
