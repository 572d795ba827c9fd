"""The first day of a resident, a neighbour, a grid worker and an admin, as conversations that
run alike through the conversation core and through either Telegram framework (see
tests/e2e/parties.py). Each scenario asserts what the person must see; the test that runs them
also compares, person by person, everything sent on both sides."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.services.cases import actions as cases_actions
from bot.services.dispatch import reminders
from bot.services.org import actions as org_actions
from bot.services.reports import stats
from models import Compound, OrgUnit, Person, Request, Role
from tests.e2e.parties import Party, Seen, World
from tests.handlers.journey import BUILDING, COMMUNITY, COMPOUND, STREET, onboard, report_light
from tests.handlers.test_taps import BY_QR_CODE_AT_MOST, MEASURED, WITH_BUTTONS_AT_MOST

Scenario = Callable[[World], Awaitable[None]]
# The bot's username as the fake Bot API's getMe gives it (the core is told it by configuration).
BOT_USERNAME = "redgrid_test_bot"
REFUSED = "没有找到这条诉求，或它不属于您。"
COMPLAINT = "小区东门的下水道堵了三天了，污水漫到路上"


async def _request(world: World, reference: str | None = None) -> Request:
    """The request with this reference, else the newest."""
    async with world.db.sessions() as session:
        query = select(Request).order_by(Request.id.desc()).limit(1)
        if reference is not None:
            query = select(Request).where(Request.reference == reference)
        return (await session.execute(query)).scalar_one()


async def _submit(world: World, chat: Party) -> Request:
    """Submit the draft in progress as suggested; the stored request."""
    for label in ("✅ 提交", "✅ 提交（楼道/公共区域）"):
        if label in chat.buttons:
            await chat.press(label)
            break
    assert any("诉求编号" in t for t in chat.texts), chat.texts[-3:]
    return await _request(world)


async def _follow(chat: Party, reference: str) -> None:
    await chat.send("楼道灯不亮")
    await chat.press(f"我也遇到了 {reference}")


# --- followers: every push, every button ---------------------------------------------------------


async def follower_pushes(world: World) -> None:
    """A neighbour who said "me too" hears every step and can press every button they get; only
    the reporter is asked to rate or to add information."""
    reporter, neighbour = await world.resident("张三"), await world.resident("李四")
    staff = await world.staff("网格员")
    await onboard(reporter)  # type: ignore[arg-type]
    reference = await report_light(reporter)  # type: ignore[arg-type]
    await onboard(neighbour)  # type: ignore[arg-type]
    await _follow(neighbour, reference)
    await world.pump()
    for label in ("签收", "开始办理", "请居民补充"):
        await staff.press(label)
    await staff.send("请补充是哪一层")
    await world.pump()
    request = await _request(world, reference)
    await reporter.press_data(cases_actions.ADD_INFO.data(request.id))
    await reporter.send("三楼和四楼都不亮")
    await reporter.press("✅ 完成")
    await world.pump()
    await staff.press("办结")
    await staff.send("已更换灯泡")
    await staff.press("✅ 完成")
    await world.pump()
    for label in ("评价", "已解决", "满意", "跳过"):
        await reporter.press(label)
    await world.pump()
    seen = neighbour.seen()
    followed = next(i for i, m in enumerate(seen) if m.text.startswith(f"已关注 {reference}"))
    pushes = [m for m in seen[followed + 1 :] if reference in m.text]
    texts = [m.text for m in pushes]
    assert any("已办结" in t for t in texts) and any("补充信息" in t for t in texts), texts
    assert not any("请评价" in t or "需要您补充" in t for t in texts), texts
    assert not any("评价" in label for m in pushes for label in m.labels)
    for push in pushes:  # whatever button a follower is given works for them
        for label, data in push.buttons:
            await neighbour.press_data(data, ref=push.ref)
            answers = [m.text for m in neighbour.new()]
            assert answers and all(REFUSED not in a for a in answers), (push.text, label)
    resolved = [e for e in reporter.transcript() if "已办结，请评价" in e[0]]
    assert [labels for _, labels in resolved] == [("评价",)]


# --- nothing typed is lost -----------------------------------------------------------------------


def telegram_split(text: str, limit: int = 4096) -> list[str]:
    """A paste as the Telegram client sends it: pieces of at most `limit` UTF-16 units."""
    pieces, piece, units = [], "", 0
    for ch in text:
        width = len(ch.encode("utf-16-le")) // 2
        if units + width > limit:
            pieces.append(piece)
            piece, units = "", 0
        piece += ch
        units += width
    return [*pieces, piece]


async def long_paste(world: World) -> None:
    """5,000 characters arrive as 4,096 + 904 (and, with emoji, cut at 4,096 UTF-16 units):
    one report holding all of it, nothing refused."""
    for name, paste in (
        ("王五", ("楼上漏水，" * 1000)[:5000]),
        ("赵六", ("楼上漏水😣，" * 1000)[:5000]),
    ):
        chat = await world.resident(name)
        await onboard(chat)  # type: ignore[arg-type]
        parts = telegram_split(paste)
        assert len(parts) == 2 and len(parts[0].encode("utf-16-le")) == 2 * 4096
        for part in parts:
            await chat.send(part)
            assert not any("太长" in t or "超过" in t for t in chat.texts), chat.texts
        request = await _submit(world, chat)
        assert request.description == paste


async def typed_at_a_button_question(world: World) -> None:
    """Words typed where a button is asked for are kept: a complaint typed at the phone question
    (reached by an old 跳过) becomes the report; a mobile number typed is the phone."""
    chat = await world.resident("孙七")
    await onboard(chat)  # type: ignore[arg-type]
    await chat.press_data(org_actions.SKIP_ROOM.data())  # an old 跳过 from the room question
    assert "手机号" in chat.last_text
    await chat.send(COMPLAINT)
    assert "请点下方按钮" not in chat.last_text and COMPLAINT[:20] in chat.last_text
    assert (await _submit(world, chat)).description == COMPLAINT
    typist = await world.resident("周八")
    await typist.send("/start")
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"]):
        await typist.press(label)
    await typist.send("+86 139-1234 5678")
    assert "登记完成" in " ".join(typist.texts)
    async with world.db.sessions() as session:
        found = await session.execute(select(Person).order_by(Person.id.desc()).limit(1))
        person = found.scalar_one()
    assert person.phone == "13912345678" and person.phone_consent_at == world.clock()


# --- admins ---------------------------------------------------------------------------------------


def _qr(image: bytes) -> str:
    return "".join(code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(image))))


async def invite(world: World) -> None:
    """/invite: role, unit, (member or leader); the answer is a link to tap and its QR code as a
    photo; the invited worker's welcome has one tap to their queue."""
    admin = await world.staff("社区管理员", role=Role.admin, unit="heshun")
    await admin.send("/invite")
    assert "网格员" in admin.buttons and "管理员" in admin.buttons
    await admin.press("网格员")
    assert "和顺社区第一网格" in admin.buttons and "大华社区第一网格" not in admin.buttons
    await admin.press("和顺社区第一网格")
    text, qr = admin.new()[-2:]
    web = re.search(r"http://127\.0\.0\.1:8080/\?start=(inv_[\w-]+)", text.text)
    telegram = re.search(rf"https://t\.me/{BOT_USERNAME}\?start=(inv_[\w-]+)", text.text)
    assert web is not None and telegram is not None and qr.photo, text.text
    assert web.group(1) == telegram.group(1)
    assert _qr(admin.photos()[-1]) == telegram.group(0)  # the code opens the bot
    worker = await world.resident("新网格员")
    await worker.send(f"/start {web.group(1)}")
    assert "网格员" in worker.texts[0] and "和顺社区第一网格" in worker.texts[0]
    assert "请及时签收" in worker.texts[0] and worker.buttons == ["📋 查看待办"]
    await worker.press("📋 查看待办")
    assert "待办" in worker.last_text or "没有" in worker.last_text
    team = await world.staff("志愿管理员", role=Role.admin, unit="heshun")
    await team.send("/invite")
    await team.press("志愿者")
    await team.press(team.buttons[0])  # the team paired with 和顺社区
    assert team.buttons == ["队员", "队长"]
    await team.press("队长")
    assert f"t.me/{BOT_USERNAME}?start=inv_" in team.new()[-2].text and team.new()[-1].photo


# --- rates, /stats, staff hearing ---------------------------------------------------------------


async def _grid_rates(world: World) -> tuple[float | None, ...]:
    async with world.db.sessions() as session:
        found = await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun-1"))
        grid = found.scalar_one()
        report = await stats.report(
            session, unit=grid, period=None, now=world.clock(), settings=world.engine.settings
        )
    own = next(row for row in report.rows if row.unit.id == grid.id)
    counts = own.counts
    return counts.response_rate, counts.resolution_rate, counts.satisfaction_rate, own.score


async def fair_rates_and_stats(world: World) -> None:
    """A lamp fixed within the hour and rated satisfied, nobody pressing 已联系居民: 100% on
    all three rates once the contact deadline passed; /stats says so in words, with a chart."""
    staff, resident = await world.staff("网格员"), await world.resident("吴九")
    await onboard(resident)  # type: ignore[arg-type]
    await report_light(resident)  # type: ignore[arg-type]
    await world.pump()
    world.clock.advance(minutes=10)
    await staff.press("签收")
    world.clock.advance(minutes=30)
    for step in ("办结", "已更换楼道灯泡", "✅ 完成"):
        await (staff.send(step) if step.startswith("已") else staff.press(step))
    await world.pump()
    for label in ("评价", "已解决", "满意", "跳过"):
        await resident.press(label)
    world.clock.advance(hours=30)  # past the 24-hour contact deadline
    assert await _grid_rates(world) == (1.0, 1.0, 1.0, 1.0)
    admin = await world.staff("管理员", role=Role.admin, unit="heshun")
    await admin.send("/stats heshun")
    text, chart = admin.new()[:2]
    grid = next(b for b in text.text.split("\n\n") if b.startswith("▪ 和顺社区第一网格"))
    assert grid.splitlines() == [
        "▪ 和顺社区第一网格",
        "受理 1 件 · 按时签收 1 · 办结 1 · 超期 0",
        "响应率 100% · 解决率 100% · 满意率 100%",
        "1 人评价（参评率 100%） · 综合得分 100.0 分，排名第 1",
    ]
    assert chart.photo and admin.photos()[-1].startswith(b"\x89PNG")


async def contact_reminder(world: World) -> None:
    """Accepted at 09:30, but nobody in touch with the resident: the worker is reminded of the
    24-hour contact deadline once, at 18 hours (03:30, so the push waits for the end of the
    quiet hours) and before the deadline."""
    staff, resident = await world.staff("网格员"), await world.resident("褚十三")
    await onboard(resident)  # type: ignore[arg-type]
    reference = await report_light(resident)  # type: ignore[arg-type]
    await world.pump()
    await staff.press("签收")
    start = world.clock()
    for hours, reminded in ((17.9, 0), (18, 1), (19, 0), (23, 0)):  # 23 h: 08:30 in Jimo
        world.clock.now = start + timedelta(hours=hours)
        async with world.db.sessions() as session, session.begin():
            due = await reminders.remind_due(
                session, now=world.clock(), settings=world.engine.settings
            )
        assert [e.note.split()[0] for e in due] == ["contact"] * reminded, hours
        await world.pump()
    pushed = [m.text for m in staff.seen() if m.text.startswith("【催办】")]
    assert len(pushed) == 1 and reference in pushed[0], pushed
    assert "联系期限 11月25日 09:30" in pushed[0]


async def staff_hear(world: World) -> None:
    """The grid worker hears of each household that follows ("共 3 户") and of the rating."""
    staff, resident = await world.staff("网格员"), await world.resident("郑十")
    await onboard(resident)  # type: ignore[arg-type]
    reference = await report_light(resident)  # type: ignore[arg-type]
    await world.pump()
    await staff.press("签收")
    for name in ("邻居甲", "邻居乙"):
        neighbour = await world.resident(name)
        await onboard(neighbour)  # type: ignore[arg-type]
        await _follow(neighbour, reference)
    await world.pump()
    heard = [m.text for m in staff.seen() if "同样问题" in m.text]
    assert heard == [
        f"又有一户居民反映了诉求 {reference} 的同样问题（共 2 户）。",
        f"又有一户居民反映了诉求 {reference} 的同样问题（共 3 户）。",
    ]
    for step in ("办结", "已更换楼道灯泡", "✅ 完成"):
        await (staff.send(step) if step.startswith("已") else staff.press(step))
    await world.pump()
    for label in ("评价", "已解决", "基本满意"):
        await resident.press(label)
    await resident.send("修得快，就是晚上来的")
    await world.pump()
    rated = next(m.text for m in staff.seen() if "居民评价了" in m.text)
    assert rated.startswith(f"居民评价了诉求 {reference}：已解决，基本满意。")
    assert "修得快，就是晚上来的" in rated


# --- plain words ---------------------------------------------------------------------------------


async def plain_words(world: World) -> None:
    """Residents read 受理 and the same dates as staff; the history tells the routing in the
    reader's language; after 签收 the resident is told which grid has it and that a reply in
    the chat adds to it, and staff hear of what was added."""
    staff = await world.staff("网格员")
    async with world.db.sessions() as session, session.begin():
        found = await session.execute(select(Person).where(Person.display_name == "网格员"))
        found.scalars().all()[-1].language = "en"  # reads English
    resident = await world.resident("陈十二")
    await onboard(resident)  # type: ignore[arg-type]
    reference = await report_light(resident)  # type: ignore[arg-type]
    submitted = next(t for t in resident.texts if "诉求编号" in t)
    assert "预计受理：11月24日 11:30 前" in submitted and "签收" not in submitted
    await world.pump()
    await staff.send(f"/find {reference}")
    assert "By building: Haisheng New Sunshine Zone building 17 belongs to" in staff.last_text
    assert "building_grid" not in staff.last_text and "heshun-1" not in staff.last_text
    zh = await world.staff("网格员二")
    await zh.send(f"/find {reference}")
    assert "🔒按楼栋分派：海盛·新阳光地带17号楼属于和顺社区第一网格" in zh.last_text
    assert "签收期限：11月24日 11:30" in zh.last_text
    await zh.press("签收")
    await world.pump()
    told = resident.last_text
    assert "已受理，网格正在安排办理（负责网格：和顺社区第一网格）" in told and "回复" in told
    assert "签收" not in told
    await resident.send("三楼也不亮")
    await world.pump()
    assert any(f"居民为诉求 {reference} 补充了信息" in m.text for m in zh.seen())


# --- the card's copies ------------------------------------------------------------------------


def _card(chat: Party, reference: str) -> list[Seen]:
    return [m for m in chat.seen() if m.text.startswith(f"【新诉求 {reference}】")]


async def card_copies(world: World) -> None:
    """Two grid workers get the photos and the card; once one accepts, the other's copy says
    who has it (edited in place, no 签收 left); the card sent again when the resident says it
    is not solved comes without the photos."""
    first, second = await world.staff("网格员甲"), await world.staff("网格员乙")
    resident = await world.resident("冯十一")
    await onboard(resident)  # type: ignore[arg-type]
    await resident.send("楼道灯坏了")
    await resident.send_photo()
    await resident.send_photo()
    reference = await report_light(resident, "晚上黑漆漆的")  # type: ignore[arg-type]
    await world.pump()
    albums = [sum(1 for m in c.transcript() if m[0] == "[album]") for c in (first, second)]
    assert albums == [1, 1] and "签收" in _card(second, reference)[0].labels
    await first.press("签收")
    await world.pump()
    (copy,) = _card(second, reference)
    assert copy.buttons == () and "已由 网格员甲 签收" in copy.text
    for step in ("办结", "已更换楼道灯泡", "✅ 完成"):
        await (first.send(step) if step.startswith("已") else first.press(step))
    await world.pump()
    for label in ("评价", "未解决", "不满意", "跳过"):
        await resident.press(label)
    await world.pump()
    again = [m for m in second.seen() if m.text.startswith(f"【重新办理 {reference}】")]
    assert again and "签收" in again[0].labels
    albums = [sum(1 for m in c.transcript() if m[0] == "[album]") for c in (first, second)]
    assert albums == [1, 1]  # not sent again


# --- the counted path ----------------------------------------------------------------------------


async def counted_path(world: World) -> None:
    """From /start to the reference: 8 actions with buttons, 5 by the compound's QR code."""
    chat = await world.resident("钱一")
    await chat.send("/start")
    assert len(chat.new()) == 1 and "欢迎" in chat.texts[0] and STREET["zh"] in chat.buttons
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"], "跳过"):
        await chat.press(label)
    await chat.send("楼道灯坏了好几天了，晚上黑漆漆的")
    await _submit(world, chat)
    assert chat.actions == MEASURED["buttons"] <= WITH_BUTTONS_AT_MOST
    async with world.db.sessions() as session:
        found = await session.execute(select(Compound.id).where(Compound.name_zh == COMPOUND["zh"]))
        compound = found.scalar_one()
    neighbour = await world.resident("钱二")
    await neighbour.send(f"/start c_{compound}")
    assert len(neighbour.new()) == 1 and BUILDING["zh"] in neighbour.buttons
    await neighbour.press(BUILDING["zh"])
    await neighbour.press("跳过")
    await neighbour.send("单元门坏了，关不上")
    await _submit(world, neighbour)
    assert neighbour.actions == MEASURED["qr"] <= BY_QR_CODE_AT_MOST


SCENARIOS: dict[str, Scenario] = {
    "follower_pushes": follower_pushes,
    "long_paste": long_paste,
    "typed_at_a_button_question": typed_at_a_button_question,
    "invite": invite,
    "fair_rates_and_stats": fair_rates_and_stats,
    "staff_hear": staff_hear,
    "contact_reminder": contact_reminder,
    "counted_path": counted_path,
    "card_copies": card_copies,
    "plain_words": plain_words,
}
