"""Cards through the fake WeCom API: a text a card holds is read on the card alone; a longer
one reaches the member once, as a message, its card a short title over the buttons (sent or
updated); a card edited without buttons keeps the first lines of its new text; every field
within the limits' table."""

from __future__ import annotations

from typing import Any

from bot.channels.wecom.limits import LIMITS
from bot.messages import Button, Outgoing
from tests.channels.wecom.conftest import WecomRig
from tests.fakes.wecom_api import FakeWecomAPI

BUTTONS = [[Button("签收", "v1:acc:1"), Button("退回", "v1:ret:1")]]
LONG = "\n".join(
    ["【新诉求 JM-2026-000009】请及时签收", "编号：JM-2026-000009"]
    + [f"第 {n} 条记录：三号楼二单元的楼道灯又坏了，晚上很黑" for n in range(8)]
)


def occurrences(api: FakeWecomAPI, userid: str, line: str) -> int:
    """How many times the member could read `line`, in texts and on cards."""
    return sum(text.count(line) for text in api.texts(userid))


def within_limits(card: dict[str, Any]) -> bool:
    main = card.get("main_title", {})
    return (
        len(main.get("title", "")) <= LIMITS.title
        and len(main.get("desc", "")) <= LIMITS.desc
        and len(card.get("sub_title_text", "")) <= LIMITS.subtitle
        and len(card["button_list"]) <= LIMITS.buttons_per_card
        and all(len(b["text"]) <= LIMITS.button_text for b in card["button_list"])
        and len(card.get("replace_text", "")) <= LIMITS.replace_text
    )


async def test_a_short_card_carries_its_whole_text(rig: WecomRig) -> None:
    member = await rig.member()
    text = "【新诉求 JM-2026-000008】请及时签收\n编号：JM-2026-000008\n类别：照明\n地点：17号楼"
    assert (await rig.channel.send(member.userid, Outgoing(text=text, buttons=BUTTONS))).ok
    assert [m["msgtype"] for m in rig.api.sent[member.userid]] == ["template_card"]
    card = member.cards[0]
    assert card.text == text and card.buttons == ["签收", "退回"]
    assert rig.channel.cost(Outgoing(text=text, buttons=BUTTONS)) == 1


async def test_a_long_card_is_read_once(rig: WecomRig) -> None:
    member = await rig.member()
    message = Outgoing(text=LONG, buttons=BUTTONS)
    assert (await rig.channel.send(member.userid, message)).ok
    sent = rig.api.sent[member.userid]
    assert [m["msgtype"] for m in sent] == ["text", "template_card"]
    assert sent[0]["text"]["content"] == LONG  # the whole text, as a message
    card = member.cards[0]
    assert card.text == "【新诉求 JM-2026-000009】请及时签收"  # a short title, not the text again
    assert card.buttons == ["签收", "退回"]
    for line in LONG.splitlines()[1:]:  # the first line is also the card's title
        assert occurrences(rig.api, member.userid, line) == 1, line
    assert rig.channel.cost(message) == 2 and within_limits(card.card)


async def test_a_card_updated_with_a_long_text_is_read_once(rig: WecomRig) -> None:
    member = await rig.member()
    sent = await rig.channel.send(member.userid, Outgoing(text="任务\n请处理", buttons=BUTTONS))
    assert sent.message_id
    edit = Outgoing(
        text=LONG.replace("请及时签收", "已签收"),
        buttons=[[Button("开始办理", "v1:sst:1")]],
        edit_message_id=sent.message_id,
    )
    assert (await rig.channel.send(member.userid, edit)).ok
    card = rig.api.cards[sent.message_id]
    assert card.updates == 1 and card.buttons == ["开始办理"]
    assert card.text == "【新诉求 JM-2026-000009】已签收"
    assert rig.api.texts(member.userid)[-1] == edit.text
    for line in edit.text.splitlines()[1:]:
        assert occurrences(rig.api, member.userid, line) == 1, line
    assert rig.channel.cost(edit) == 2 and within_limits(card.card)


async def test_a_card_edited_without_buttons_keeps_its_first_lines(rig: WecomRig) -> None:
    member = await rig.member()
    text = "【任务】楼道灯维修\n地点：17号楼二单元\n时间：周六上午"
    sent = await rig.channel.send(member.userid, Outgoing(text=text, buttons=BUTTONS))
    assert sent.message_id
    taken = f"{text}\n\n✅ 已由 张三 签收，无需再签收。"
    assert (
        await rig.channel.send(member.userid, Outgoing(taken, edit_message_id=sent.message_id))
    ).ok
    card = rig.api.cards[sent.message_id]
    assert card.updates == 1 and card.buttons == []
    assert card.text == taken.replace("\n\n", "\n")  # the whole text: it fits
    assert card.replaced == "已处理"  # the news is on the card already: not again in grey
    assert len(rig.api.sent[member.userid]) == 1  # changed in place, nothing new sent


async def test_a_long_card_edited_without_buttons_keeps_the_first_lines_and_the_news(
    rig: WecomRig,
) -> None:
    member = await rig.member()
    sent = await rig.channel.send(member.userid, Outgoing(text=LONG, buttons=BUTTONS))
    assert sent.message_id
    taken = f"{LONG}\n\n✅ 已由 张三 签收，无需再签收。"
    assert (
        await rig.channel.send(member.userid, Outgoing(taken, edit_message_id=sent.message_id))
    ).ok
    card = rig.api.cards[sent.message_id]
    assert card.updates == 1 and card.buttons == [] and within_limits(card.card)
    first = LONG.splitlines()
    assert card.text.startswith("\n".join(first[:3])), card.text  # the first lines, in order
    assert "第 7 条记录" not in card.text  # what does not fit is cut at the end
    assert card.replaced == "✅ 已由 张三 签收，无需再签收。"  # the last line, in grey


async def test_a_card_edited_in_english_says_done(rig: WecomRig) -> None:
    rig.channel.locale = "en"
    member = await rig.member()
    sent = await rig.channel.send(
        member.userid, Outgoing(text="Task\nFix the light", buttons=BUTTONS)
    )
    assert sent.message_id
    edit = Outgoing(
        "Task\nFix the light\nClaimed by another volunteer", edit_message_id=sent.message_id
    )
    assert (await rig.channel.send(member.userid, edit)).ok
    card = rig.api.cards[sent.message_id]
    assert card.text == edit.text and card.replaced == "Done"
