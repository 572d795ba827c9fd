"""Admins invite with buttons: the role, the unit (typed in part when there are many), member or
leader for a team; the answer is a link to tap and a QR code, not a command to copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from bot.config import Settings
from bot.services.org import actions as org_actions
from models import Invite, OrgUnit, Role
from tests.conftest import Bot
from tests.handlers.staff_journey import staff_chat


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.stats.export_dir = tmp_path


def _qr(path: str | None) -> str:
    assert path is not None
    return "".join(code.text for code in zxingcpp.read_barcodes(Image.open(path)))


async def test_a_grid_worker_invited_in_three_taps(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/invite")
    assert "网格员" in admin.buttons and "管理员" in admin.buttons
    await admin.press("网格员")
    assert "和顺社区第一网格" in admin.buttons and "大华社区第一网格" not in admin.buttons
    await admin.press("和顺社区第一网格")
    text, qr = admin.new_messages[-2:]
    found = re.search(r"http://127\.0\.0\.1:8080/\?start=inv_[\w-]+", text.text)
    assert found is not None, text.text
    link = found.group(0)
    assert "网页聊天：" in text.text and "Telegram" not in text.text
    assert _qr(qr.photo) == link
    payload = link.split("start=", 1)[1]
    worker = bot.chat("invited-worker")
    await worker.send(f"/start {payload}")
    assert "网格员" in worker.texts[0] and "和顺社区第一网格" in worker.texts[0]
    # The welcome says what comes next, with one tap to the queue.
    assert "请及时签收" in worker.texts[0] and worker.buttons == ["📋 查看待办"]
    await worker.press("📋 查看待办")
    assert "待办" in worker.last_text or "没有" in worker.last_text


async def test_a_team_leader_and_a_typed_unit_name(bot: Bot) -> None:
    bot.engine.settings.meetings.bot_username = "JimoGridBot"
    district = await staff_chat(bot, role=Role.admin, unit="jimo")
    await district.send("/invite")
    await district.press("网格员")
    assert "请输入单位名称的一部分" in district.last_text  # more grids than buttons
    await district.send("大华")
    assert district.buttons and all("大华" in label for label in district.buttons)
    community = await staff_chat(bot, role=Role.admin, unit="heshun")
    await community.send("/invite")
    await community.press("志愿者")
    await community.press(community.buttons[0])  # the team paired with 和顺社区
    assert community.buttons == ["队员", "队长"]
    await community.press("队长")
    text, qr = community.new_messages[-2:]
    assert "Telegram：https://t.me/JimoGridBot?start=inv_" in text.text
    assert _qr(qr.photo).startswith("https://t.me/JimoGridBot?start=inv_")
    async with bot.db.sessions() as session:
        invite = await session.scalar(select(Invite).order_by(Invite.id.desc()).limit(1))
    assert invite is not None and invite.role == Role.volunteer and invite.leader


async def test_presses_are_rechecked(bot: Bot) -> None:
    outsider = await staff_chat(bot, role=Role.admin, unit="dahua")
    async with bot.db.sessions() as session:
        grid = await session.scalar(select(OrgUnit.id).where(OrgUnit.code == "heshun-1"))
        before = await session.scalar(select(func.count()).select_from(Invite))
    await outsider.press_data(org_actions.INVITE_CREATE.data("grid_staff", grid, 0))
    assert "管理员权限" in outsider.last_text
    resident = bot.chat("not-an-admin")
    await resident.send("/invite")
    await resident.press_data(org_actions.INVITE_ROLE.data("admin"))
    await resident.press_data(org_actions.INVITE_CREATE.data("admin", grid, 0))
    await resident.press_data(org_actions.INVITE_CREATE.data("root", grid, 0))
    async with bot.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Invite)) == before
