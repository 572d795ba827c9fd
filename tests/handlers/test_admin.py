"""Whole conversations of admins: /stats, /export, /grant, /revoke, /broadcast."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.services.comms import actions as comms_actions
from bot.services.volunteers import actions as volunteers_actions
from models import AuditLog, Broadcast, ChannelIdentity, OutboxMessage, Role, RoleGrant
from tests.conftest import Bot
from tests.handlers.journey import onboard, report_light
from tests.handlers.staff_journey import pump, staff_chat


async def _read(path: str) -> bytes:
    return await asyncio.to_thread(Path(path).read_bytes)


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.stats.export_dir = tmp_path


async def test_stats_and_export(bot: Bot) -> None:
    staff = await staff_chat(bot)
    resident = bot.chat("adm-resident")
    await onboard(resident)
    reference = await report_light(resident)
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/stats heshun 2026-11")
    text, no_chart = admin.new_messages
    text = text.text
    assert "和顺社区 · 2026-11" in text
    grid = next(block for block in text.split("\n\n") if block.startswith("▪ 和顺社区第一网格"))
    assert "受理 1 件" in grid and "响应率 -" in grid and "满意率 -" in grid
    assert "▪ 合计\n受理 1 件" in text
    # No rate yet: no empty picture, a line saying so.
    assert no_chart.photo is None and "不发图表" in no_chart.text
    await pump(bot)
    await staff.press("签收")
    await staff.press("已联系居民")
    await admin.send("/stats heshun 2026-11")
    text, chart = admin.new_messages
    assert "响应率 100%" in text.text, text.text
    assert chart.photo is not None and (await _read(chart.photo)).startswith(b"\x89PNG")
    await admin.send("/export")
    requests_doc, service_doc = admin.new_messages[:2]
    assert requests_doc.document_name == "requests-heshun-2026-11.xlsx"
    assert requests_doc.document is not None and service_doc.document is not None
    book = load_workbook(io.BytesIO(await _read(requests_doc.document)))
    assert [row[0] for row in book["requests"].iter_rows(values_only=True)][1] == reference
    district = await staff_chat(bot, role=Role.admin, unit="jimo")
    await district.send("/export heshun-1")
    assert any("隐去" in t for t in district.texts)  # a district admin sees masked phones
    await district.send("/stats heshun 2026-13")
    assert "无效" in district.last_text
    async with bot.db.sessions() as session:
        actions = list((await session.execute(select(AuditLog.action))).scalars())
    assert actions.count("stats") == 2 and actions.count("export") == 2


async def test_grant_and_revoke(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    target = bot.chat("to-be-staff")
    await target.send("/help")
    person_id = target.last_result and (await _person_id(bot, "to-be-staff"))
    await admin.send(f"/grant {person_id} grid_staff heshun-1")
    assert "已授予" in admin.last_text
    await admin.send(f"/grant {person_id} grid_staff heshun-1")
    assert "已是" in admin.last_text
    await admin.send(f"/grant {person_id} volunteer heshun-1")
    assert "只能授予" in admin.last_text
    await admin.send(f"/grant {person_id} grid_staff dahua-1")
    assert "dahua-1" in admin.last_text  # not theirs: refused, naming the unit
    await admin.send("/grant x")
    assert "用法" in admin.last_text
    await admin.send(f"/revoke {person_id} grid_staff heshun-1")
    assert "已撤销" in admin.last_text
    async with bot.db.sessions() as session:
        grants = await session.execute(
            select(func.count()).select_from(RoleGrant).where(RoleGrant.person_id == person_id)
        )
        audit = list((await session.execute(select(AuditLog.action))).scalars())
    assert grants.scalar_one() == 0 and audit == ["grant", "revoke"]


async def _person_id(bot: Bot, user_id: str) -> int:
    async with bot.db.sessions() as session:
        found = await session.execute(
            select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == user_id)
        )
        return int(found.scalar_one())


async def test_broadcast_preview_progress_and_cancel(bot: Bot) -> None:
    async with bot.db.sessions() as session, session.begin():
        # The demo residents of building 17 talk on a channel this test cannot deliver to.
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.channel == "demo")
            .values(unreachable_at=bot.clock())
        )
    residents = [bot.chat(f"bc-{n}") for n in range(3)]
    for chat in residents:
        await onboard(chat)
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/broadcast haisheng-sunshine/17")
    await admin.send("明天上午9点停水检修")
    assert "3 位居民" in admin.last_text
    await admin.press("📣 发送")
    progress = next(b.data for row in admin.messages[-1].buttons for b in row if "进度" in b.label)
    await admin.deliver(admin.incoming("button", button_data=progress, message_id="42"))
    assert "已送达 0/3" in admin.last_text and admin.messages[-1].edit_message_id == "42"
    await pump(bot)
    assert all("明天上午9点停水检修" in chat.last_text for chat in residents)
    await admin.press("🔄 进度")
    assert "已送达 3/3" in admin.last_text and "已完成" in admin.last_text

    # A second broadcast, stopped before the outbox drains: nothing more goes out.
    await admin.send("/broadcast heshun-1")
    await admin.send("第二条通知")
    await admin.press("📣 发送")
    await admin.press("⏹ 停止发送")
    assert "3 条" in admin.last_text
    await pump(bot)
    assert not any("第二条通知" in chat.last_text for chat in residents)
    async with bot.db.sessions() as session:
        statuses = list(
            (await session.execute(select(Broadcast.status).order_by(Broadcast.id))).scalars()
        )
        cancelled = await session.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "cancelled")
        )
    assert statuses == ["done", "cancelled"] and cancelled.scalar_one() == 3

    outsider = await staff_chat(bot, role=Role.admin, unit="dahua")
    await outsider.send("/broadcast heshun-1")
    assert "heshun" in outsider.last_text


async def test_out_of_range_ids_are_refused_not_crashed(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    for action in (
        volunteers_actions.CLAIM,
        volunteers_actions.ON_MY_WAY,
        volunteers_actions.FINISH,
        volunteers_actions.CANNOT,
        volunteers_actions.OPEN_TASK,
        volunteers_actions.NEW_TASK,
        comms_actions.SEND,
        comms_actions.PROGRESS,
        comms_actions.STOP,
    ):
        await admin.press_data(action.data(99999999999))
        assert admin.last_result is not None and admin.last_result.status == "refused", action
    await admin.press_data(volunteers_actions.RATE.data(99999999999, 5))
    assert admin.last_result is not None and admin.last_result.status == "refused"
    await admin.send("/revoke 999999999 grid_staff heshun-1")
    assert admin.last_result is not None and admin.last_result.status == "refused"


async def test_typed_numbers_no_column_holds_are_answered_not_crashed(bot: Bot) -> None:
    """Ids past what an id column holds (PostgreSQL refused to compare them) and digits that
    are not ASCII ("²" passes str.isdigit but not int())."""
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    for command in (
        "/openpoll 99999999999",
        "/closepoll #99999999999",
        "/openpoll ²",
        "/closepoll ٣",
        "/queue ²",
        "/queue 99999999999999999999",
        "/grant ² grid_staff heshun-1",
        "/revoke ¹²³ grid_staff heshun-1",
    ):
        await admin.send(command)
        assert admin.last_result is not None, command
        assert admin.last_result.status in ("handled", "refused"), command
        assert "抱歉" not in admin.last_text, command
