"""The community sets the exam: admins raise a need from a cluster of parking requests (the
"me too" counted, the requests linked) or type one; residents in scope support needs, one voice
per household, and the list follows the supports."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.cobuild import actions
from models import Need, NeedRequest, NeedSupport, RequestEvent
from tests.conftest import Bot
from tests.handlers.cobuild_journey import (
    community_admin,
    move_to,
    parking_cluster,
    report_in_own_flat,
)
from tests.handlers.journey import onboard
from tests.handlers.staff_journey import request as load_request


async def test_a_need_raised_from_a_cluster_and_supported_per_household(bot: Bot) -> None:
    admin = await community_admin(bot)
    other_admin = await community_admin(bot, "dahua")
    residents, references = await parking_cluster(bot)

    await admin.send("/needs")
    assert "停车管理" in admin.last_text and "2 件诉求，3 人反映" in admin.last_text
    raise_label = next(label for label in admin.buttons if "停车管理" in label)
    first = await load_request(bot, references[0])
    await other_admin.press_data(actions.RAISE.data(first.id))
    assert "未做任何更改" in other_admin.last_text
    await admin.press(raise_label)
    assert "关联 2 件居民诉求" in admin.last_text
    await admin.press(raise_label)
    assert "已列入需求清单" in admin.last_text  # refused: already listed
    async with bot.db.sessions() as session:
        need = (await session.scalars(select(Need))).one()
        linked = set((await session.scalars(select(NeedRequest.request_id))).all())
        events = list(
            await session.scalars(select(RequestEvent).where(RequestEvent.kind == "cobuild_need"))
        )
    assert need.title == "海盛·新阳光地带：停车管理" and len(linked) == 2 and len(events) == 2

    await admin.send("/need 小区西墙栅栏破旧需更换")
    assert "已列入需求清单" in admin.last_text
    await residents[0].send("/need 我也想发布")
    assert "用法" in residents[0].last_text

    # Residents see the list and support; one voice per household (building and room: the
    # first resident and a housemate give room 1-101 when reporting a leak in their flat).
    await report_in_own_flat(residents[0], "1-101")
    await residents[0].send("/needs")
    assert "停车管理" in residents[0].last_text and "栅栏" in residents[0].last_text
    await residents[0].press(f"👍 支持 #{need.id}")
    assert "已为您家支持" in residents[0].last_text
    housemate = bot.chat()
    await onboard(housemate)
    await report_in_own_flat(housemate, "1-101", "我家厨房的水管也在漏水")
    await housemate.press_data(actions.SUPPORT.data(need.id))
    assert "每户一票" in housemate.last_text
    await residents[1].press_data(actions.SUPPORT.data(need.id))
    outsider = bot.chat()
    await onboard(outsider)
    await move_to(bot, outsider.user_id, "dahua-machinery-dorm")
    await outsider.press_data(actions.SUPPORT.data(need.id))
    assert "未做任何更改" in outsider.last_text
    async with bot.db.sessions() as session:
        count = len(list(await session.scalars(select(NeedSupport))))
    assert count == 2
    await residents[2].send("/needs")
    assert residents[2].last_text.index("停车管理") < residents[2].last_text.index("栅栏")
    assert "2 户支持" in residents[2].last_text
    await bot.chat().press_data(actions.SUPPORT.data(need.id))  # no address
    await other_admin.press_data(actions.SUPPORT.data(999999))
    assert "没有找到" in other_admin.last_text


async def test_a_need_raised_from_a_request_does_not_take_the_reporters_next_words(
    bot: Bot,
) -> None:
    """The reporters are not told when their request is listed as a need, so what they type
    next is a new report, not an addition to that request."""
    admin = await community_admin(bot)
    residents, references = await parking_cluster(bot)
    await admin.send("/needs")
    await admin.press(next(label for label in admin.buttons if "停车管理" in label))
    assert "关联 2 件居民诉求" in admin.last_text
    await residents[0].send("小区门口的路灯不亮")
    assert "已补充" not in residents[0].last_text and "✅ 提交" in residents[0].buttons
    async with bot.db.sessions() as session:
        query = select(RequestEvent.kind).where(RequestEvent.kind == "add_info")
        assert (await session.scalars(query)).all() == []
    assert references[0] not in residents[0].last_text


async def test_an_empty_list_of_needs_says_so_and_how_to_publish_one(bot: Bot) -> None:
    admin = await community_admin(bot)
    await admin.send("/needs")
    text = admin.last_text
    assert "\n-" not in text and "暂无" in text and "/need " in text
