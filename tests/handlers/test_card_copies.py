"""The copies of a card other staff hold: once one grid worker accepts, the others' copies no
longer offer 签收 but say who has it; a card sent again (reopened) brings the photos to nobody
who already had them."""

from __future__ import annotations

from bot.channels.testing import TestChat
from bot.services.cases import actions
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.privacy_journey import staff_does
from tests.handlers.staff_journey import pump, request, staff_chat


def _card_now(chat: TestChat, reference: str) -> tuple[str, list[str]]:
    """The newest state of the first card about `reference` in this chat (edits applied)."""
    sent, ids = chat.channel.sent[chat.chat_id], chat.channel.message_ids[chat.chat_id]
    first = next(i for i, m in enumerate(sent) if reference in m.text and m.buttons)
    latest = max(i for i, ref in enumerate(ids) if ref == ids[first])
    message = sent[latest]
    return message.text, [b.label for row in message.buttons for b in row]


def _albums(chat: TestChat) -> int:
    return sum(1 for m in chat.messages if m.album)


async def test_others_copies_say_who_accepted_and_photos_come_once(bot: Bot) -> None:
    first, second = await staff_chat(bot), await staff_chat(bot)
    resident = bot.chat()
    await onboard(resident)
    await resident.send("楼道灯坏了")
    await resident.send_photo("photo-1")
    await resident.send_photo("photo-2")
    reference = await report_light(resident, "晚上黑漆漆的")
    await pump(bot)
    assert _albums(first) == _albums(second) == 1
    assert "签收" in _card_now(second, reference)[1]

    await first.press("签收")
    await pump(bot)
    text, labels = _card_now(second, reference)
    assert labels == [] and f"已由 {first.user_id} 签收" in text and reference in text
    assert "已签收诉求" in first.messages[-1].text  # the acceptor's own card is theirs to work
    await second.press_data(actions.ACCEPT.data((await request(bot, reference)).id))
    assert second.last_text == "该诉求当前状态下不能进行此操作。"  # a stale press, answered
    assert (await request(bot, reference)).status == "accepted"

    await staff_does(bot, first, reference, "resolve", "已更换灯泡")
    await staff_does(bot, resident, reference, "reopen", "还是不亮")
    await pump(bot)
    reopened = [m for m in second.messages if m.text.startswith(f"【重新办理 {reference}】")]
    assert reopened and "签收" in [b.label for row in reopened[-1].buttons for b in row]
    assert _albums(first) == _albums(second) == 1  # the photos are not sent again
    edits = len([m for m in second.messages if m.edit_message_id])
    await first.press("签收")  # the reopened card, accepted again
    await pump(bot)
    assert "签收" not in [b.label for row in second.messages[-1].buttons for b in row]
    assert second.messages[-1].edit_message_id  # the reopened copy, edited
    assert len([m for m in second.messages if m.edit_message_id]) == edits + 1  # only it
