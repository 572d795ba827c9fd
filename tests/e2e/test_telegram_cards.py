"""The card staff work from, on both frameworks and both modes: the request's photos come as an
album before it, 签收 and the phone tap edit it in place (editMessageText), and 更多操作 opens
the rest of the actions in the same message, a page at a time."""

from __future__ import annotations

from sqlalchemy import func, select

from models import ChannelIdentity, OrgUnit, Person, Request, RequestPhoto, Role, RoleGrant
from tests.e2e.conftest import Rig
from tests.fakes.bot_api import FakeUser
from tests.handlers.journey import onboard, report_light

PHONE = "13800138000"


async def _grid_worker(rig: Rig) -> FakeUser:
    user = rig.user(first_name="网格员")
    async with rig.db.sessions() as session, session.begin():
        grid = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        ).scalar_one()
        person = Person(display_name="网格员", language="zh")
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(
                person_id=person.id,
                channel="telegram",
                external_id=user.chat_id,
                chat_id=user.chat_id,
            )
        )
        session.add(RoleGrant(person_id=person.id, role=Role.grid_staff, unit_id=grid.id))
    return user


def _keyboard(message: dict[str, object]) -> list[str]:
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [button["text"] for row in rows for button in row]


async def test_card_comes_with_its_photos_and_is_edited_in_place(rig: Rig) -> None:
    staff = await _grid_worker(rig)
    resident = rig.user(first_name="张三")
    await onboard(resident, phone=PHONE)  # type: ignore[arg-type]
    await resident.send("楼道灯坏了")
    await resident.send_photo()
    await resident.send_photo()
    reference = await report_light(resident, "晚上黑漆漆的")  # type: ignore[arg-type]
    await rig.sender.pump()

    album = [m for m in staff.messages if "media_group_id" in m]
    assert len(album) == 2 and len({m["media_group_id"] for m in album}) == 1
    albums = [str(c.params["chat_id"]) for c in rig.api.calls_of("sendMediaGroup")]
    assert albums == [staff.chat_id]  # one call, to the grid worker
    card = staff.messages[-1]
    assert staff.messages.index(card) > staff.messages.index(album[-1])  # photos first
    assert reference in card["text"] and "居民：张*" in card["text"]
    assert "公共区域" in card["text"] and "照片：2 张" in card["text"]
    assert _keyboard(card) == ["签收", "退回", "转办", "📞 显示电话"]
    count = len(staff.messages)

    await staff.press("📞 显示电话")
    assert len(staff.messages) == count  # edited, not sent
    assert PHONE in card["text"] and "edit_date" in card
    assert "📞 显示电话" not in _keyboard(card)

    await staff.press("签收")
    assert len(staff.messages) == count
    assert "已签收诉求" in card["text"] and reference in card["text"]
    working = ["开始办理", "已联系居民", "办结", "📞 显示电话", "更多操作", "📋 待办列表"]
    assert _keyboard(card) == working
    edits = [c for c in rig.api.calls_of("editMessageText") if c.status == 200]
    assert {str(c.params["message_id"]) for c in edits} == {str(card["message_id"])}

    await staff.press("更多操作")
    assert len(staff.messages) == count
    # Three rows of two: the four commonest of the rest, then the next page and back.
    first = ["内部备注", "公开进展", "请居民补充", "添加照片", "其他操作 ▸", "◀ 收起"]
    assert _keyboard(card) == first
    await staff.press("其他操作 ▸")
    second = {"吹哨（部门报到）", "派红扳手任务", "转办", "其他操作 ▸", "◀ 收起"}
    assert second <= set(_keyboard(card))
    # The most actions a card has (not contacted yet, a phone to show): a third page.
    await staff.press("其他操作 ▸")
    assert _keyboard(card) == ["合并", "更改类别", "◀ 收起"] and len(staff.messages) == count
    await staff.press("◀ 收起")
    assert _keyboard(card) == working and len(staff.messages) == count


async def test_photos_picked_together_all_reach_the_request_and_the_card(rig: Rig) -> None:
    """An album arrives as one update per photo (one media_group_id, the caption on the
    first): every photo and the caption are kept, and staff get them as one album."""
    staff = await _grid_worker(rig)
    resident = rig.user(first_name="张三")
    await onboard(resident)  # type: ignore[arg-type]
    await resident.send_album(3, caption="楼道灯坏了，晚上黑漆漆的")
    rig.clock.advance(seconds=3)  # the album's one draft waits a moment for a next photo
    await rig.sender.pump()
    assert "照片：3 张" in resident.last_text, resident.last_text
    await resident.press("✅ 提交")
    async with rig.db.sessions() as session:
        request = (
            await session.execute(select(Request).order_by(Request.id.desc()).limit(1))
        ).scalar_one()
        photos = await session.scalar(
            select(func.count())
            .select_from(RequestPhoto)
            .where(RequestPhoto.request_id == request.id)
        )
    assert photos == 3 and request.description == "楼道灯坏了，晚上黑漆漆的"
    await rig.sender.pump()
    (album,) = [c for c in rig.api.calls_of("sendMediaGroup") if c.status == 200]
    assert str(album.params["chat_id"]) == staff.chat_id and len(album.params["media"]) == 3
