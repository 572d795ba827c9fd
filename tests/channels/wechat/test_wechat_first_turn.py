"""First smoke: a resident follows and gets the greeting as the passive reply: in Chinese,
registration begun, English offered as one of its choices."""

from __future__ import annotations

from tests.channels.wechat.conftest import WechatRig


async def test_follow_greets_passively(rig: WechatRig) -> None:
    user = rig.driver.user("o_first_1")
    delivery = await user.subscribe()
    assert delivery.ok, delivery
    assert delivery.passive, delivery.body
    greeting = user.texts[0]
    assert "欢迎" in greeting and "请选择您所在的街道" in greeting, user.texts
    assert "For English" in greeting and "English" in user.buttons, user.buttons
    assert "中文" not in user.buttons  # Chinese is the default, not a question
    assert "潮海街道" in user.buttons
    await user.press("English")
    assert any("Language set to English." in text for text in user.texts), user.texts
    assert "Choose your street" in user.last_text and "Chaohai Subdistrict" in user.buttons
