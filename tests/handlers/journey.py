"""Steps shared by the resident conversation tests."""

from __future__ import annotations

from bot.channels.testing import TestChat

STREET = {"zh": "潮海街道", "en": "Chaohai Subdistrict"}
COMMUNITY = {"zh": "和顺社区", "en": "Heshun Community"}
COMPOUND = {"zh": "海盛·新阳光地带", "en": "Haisheng New Sunshine Zone"}
BUILDING = {"zh": "17号楼", "en": "Building 17"}


async def onboard(chat: TestChat, locale: str = "zh", *, phone: str | None = None) -> None:
    """Register the chat's person in building 17 of 和顺社区's compound (sharing a phone); the
    room is asked by a report that needs it."""
    await chat.send("/start")
    await chat.press(STREET[locale])
    await chat.press(COMMUNITY[locale])
    await chat.press(COMPOUND[locale])
    await chat.press(BUILDING[locale])
    if phone is not None:
        await chat.share_contact(phone)
    else:
        await chat.press("跳过" if locale == "zh" else "Skip")


async def report_light(
    chat: TestChat, text: str = "楼道灯坏了好几天了，晚上黑漆漆的", *, room: str | None = None
) -> str:
    """Report a broken stairwell light: the words, then 提交 on the draft (the category and the
    common area are read from the words); with `room`, as a light in the resident's own flat
    whose room is asked. Returns the reference."""
    await chat.send(text)
    if room is not None:
        await chat.press("📍 改为自家屋内")
    await chat.press("✅ 提交")
    if room is not None:
        await chat.send(room)
    return reference_in(chat)


def reference_in(chat: TestChat) -> str:
    """The reference number of the request just submitted in this chat."""
    submitted = next(t for t in chat.texts if "诉求编号" in t)
    return submitted.split("诉求编号 ")[1].split("。")[0]
