"""First smoke: a resident follows and gets the greeting as the passive reply."""

from __future__ import annotations

from tests.channels.wechat.conftest import WechatRig


async def test_follow_greets_passively(rig: WechatRig) -> None:
    user = rig.driver.user("o_first_1")
    delivery = await user.subscribe()
    assert delivery.ok, delivery
    assert delivery.passive, delivery.body
    print(user.all_texts)
