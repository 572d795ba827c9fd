"""Steps shared by the resident conversation tests."""

from __future__ import annotations

from bot.channels.testing import TestChat

STREET = {"zh": "潮海街道", "en": "Chaohai Subdistrict"}
COMMUNITY = {"zh": "和顺社区", "en": "Heshun Community"}
COMPOUND = {"zh": "海盛·新阳光地带", "en": "Haisheng New Sunshine Zone"}
BUILDING = {"zh": "17号楼", "en": "Building 17"}


async def onboard(
    chat: TestChat, locale: str = "zh", *, room: str = "2-301", phone: str | None = None
) -> None:
    """Register the chat's person in building 17 of 和顺社区's compound (sharing a phone)."""
    await chat.send("/start")
    await chat.press(STREET[locale])
    await chat.press(COMMUNITY[locale])
    await chat.press(COMPOUND[locale])
    await chat.press(BUILDING[locale])
    await chat.send(room)
    if phone is not None:
        await chat.share_contact(phone)
    else:
        await chat.press("跳过" if locale == "zh" else "Skip")


async def report_light(chat: TestChat, text: str = "楼道灯坏了好几天了，晚上黑漆漆的") -> str:
    """Report a broken stairwell light through every step; returns the reference."""
    await chat.send(text)
    await chat.press("✅ 完成")
    await chat.press("✔ 是的，照明")
    await chat.press("楼道/小区公共区域")
    await chat.press("一般")
    if "仍然新提交" in chat.buttons:
        await chat.press("仍然新提交")
    await chat.press("✅ 提交")
    submitted = next(t for t in chat.texts if "诉求编号" in t)
    return submitted.split("诉求编号 ")[1].split("。")[0]
