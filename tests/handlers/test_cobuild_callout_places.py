"""/callout's place step: the compounds offered are the community's own (read by the cobuild
service), and a compound of another community pressed anyway is refused, nothing called."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.services.cobuild import actions, activities
from models import Activity, Compound, OrgUnit
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin


async def _compounds(bot: Bot, community_code: str) -> list[Compound]:
    async with bot.db.sessions() as session:
        community = await session.scalar(select(OrgUnit).where(OrgUnit.code == community_code))
        assert community is not None
        return await activities.callout_places(session, community=community)


async def test_the_place_step_offers_the_communitys_own_compounds(bot: Bot) -> None:
    admin = await community_admin(bot)
    ours, theirs = await _compounds(bot, "heshun"), await _compounds(bot, "dahua")
    assert ours and theirs and len(ours) <= activities.PLACES_OFFERED
    await admin.send("/callout 义诊")
    await admin.press("明天 11-25 09:00")
    offered = [b for b in admin.buttons if b != "取消"]
    assert offered == [c.name("zh")[:40] for c in ours]
    assert not {c.name("zh") for c in theirs} & set(offered)

    await admin.press_data(actions.CALLOUT_STEP.data("place", theirs[0].id))
    assert "按钮已失效" in admin.last_text
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Activity)) == 0
    await admin.press(ours[0].name("zh")[:40])
    assert f"（11月25日 09:00，{ours[0].name('zh')}）" in admin.last_text
