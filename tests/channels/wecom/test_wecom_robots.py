"""Group robots: a unit with a robot key gets its daily queue digest and its weekly report in
its WeCom group too (besides its people); a unit without one does not."""

from __future__ import annotations

from bot.services.reports import digests
from models import Role
from tests.channels.wecom.conftest import GRID_ROBOT_KEY, ROBOT_KEY, WecomRig
from tests.channels.wecom.test_wecom_limits import drain, paced_sender
from tests.handlers.journey import onboard, report_light


async def test_digest_and_weekly_report_reach_the_units_groups(rig: WecomRig) -> None:
    worker = await rig.member()
    admin = await rig.member(role=Role.admin, unit="heshun")
    resident = rig.resident()
    await onboard(resident)
    reference = await report_light(resident)
    await rig.pump()
    async with rig.db.sessions() as session, session.begin():
        assert await digests.queue_digest(session, now=rig.clock(), settings=rig.settings) >= 1
        assert await digests.weekly_report(session, now=rig.clock(), settings=rig.settings) >= 1
    await drain(paced_sender(rig))
    grid = [p["text"]["content"] for p in rig.api.robots[GRID_ROBOT_KEY]]
    assert len(grid) == 1 and "和顺社区第一网格" in grid[0] and "新诉求 1 件" in grid[0], grid
    community = [p["text"]["content"] for p in rig.api.robots[ROBOT_KEY]]
    assert len(community) == 1 and "周报" in community[0], community
    assert any("新诉求 1 件" in t for t in rig.api.texts(worker.userid))
    assert any("周报" in t for t in rig.api.texts(admin.userid))
    assert reference  # the request the digest counts
    # Run again the same day: the marks hold, nothing is posted twice.
    async with rig.db.sessions() as session, session.begin():
        assert await digests.queue_digest(session, now=rig.clock(), settings=rig.settings) == 0
    await drain(paced_sender(rig))
    assert len(rig.api.robots[GRID_ROBOT_KEY]) == 1
