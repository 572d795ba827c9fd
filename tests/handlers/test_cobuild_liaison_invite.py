"""A community's admin invites a reporting unit's liaison: `/invite`, the liaison role, one of
the units paired with the communities they administer; whoever opens the link acts for the
unit, with the liaison's command menu. Typed too, and on the command line; out of scope
refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.common import console
from bot.commands import command_list
from bot.config import Settings
from bot.services.cobuild import actions
from bot.services.org import command_menu
from bot.services.org.importer import DEMO_FILE
from models import Invite, OrgUnit, ReportingUnit, UnitLiaison
from tests.conftest import Bot
from tests.handlers.cobuild_journey import community_admin

runner = CliRunner()


@pytest.fixture(autouse=True)
def _exports_in_tmp(settings: Settings, tmp_path: Path) -> None:
    settings.stats.export_dir = tmp_path


def _payload(text: str) -> str:
    found = re.search(r"\?start=(inv_[\w-]+)", text)
    assert found is not None, text
    return found.group(1)


async def _liaisons(bot: Bot, code: str) -> list[int]:
    async with bot.db.sessions() as session:
        query = (
            select(UnitLiaison.person_id)
            .join(ReportingUnit, ReportingUnit.id == UnitLiaison.unit_id)
            .where(ReportingUnit.code == code)
        )
        return list((await session.execute(query)).scalars())


async def test_an_admin_invites_a_liaison_who_then_pledges(bot: Bot) -> None:
    admin = await community_admin(bot)
    await admin.send("/invite")
    assert "报到单位联络人" in admin.buttons
    await admin.press("报到单位联络人")
    assert "区住建局 · 和顺社区" in admin.buttons
    assert not any("大华社区" in label for label in admin.buttons)  # not theirs
    await admin.press("区住建局 · 和顺社区")
    text = admin.new_messages[-2].text
    assert "报到单位联络人" in text
    before = await _liaisons(bot, "zjj")

    liaison = bot.chat("invited-liaison")
    await liaison.send(f"/start {_payload(text)}")
    assert "报到单位联络人" in liaison.texts[0] and "区住建局" in liaison.texts[0]
    assert "/pledge" in liaison.texts[0]
    assert len(await _liaisons(bot, "zjj")) == len(before) + 1
    async with bot.db.sessions() as session:  # what the command menus and /help read
        new = next(p for p in await _liaisons(bot, "zjj") if p not in before)
        held = await command_menu.roles_of(session, person_ids=[new])
    assert held[new] == {"unit_liaison"}
    await liaison.send("/help")
    assert "/pledge" in liaison.last_text and "/complete" in liaison.last_text
    again = bot.chat("second-opener")
    await again.send(f"/start {_payload(text)}")  # single use
    assert "无效" in again.last_text or "失效" in again.last_text

    # Typed, with the community; a community they do not administer is refused.
    await admin.send("/invite unit_liaison crcc-shandong heshun")
    assert "中铁建工山东公司 · 和顺社区" in admin.new_messages[-2].text
    await admin.send("/invite unit_liaison crcc-shandong dahua")
    assert "此操作需要 dahua 的管理员权限" in admin.last_text
    await admin.send("/invite unit_liaison nosuchunit")
    assert "没有找到这个报到单位" in admin.last_text


async def test_liaison_invites_are_refused_out_of_scope(bot: Bot) -> None:
    dahua = await community_admin(bot, "dahua")
    await dahua.send("/invite unit_liaison zjj")  # zjj is paired with 和顺社区 only
    assert "没有与该社区结对" in dahua.last_text
    async with bot.db.sessions() as session:
        zjj = (
            await session.execute(select(ReportingUnit).where(ReportingUnit.code == "zjj"))
        ).scalar_one()
        heshun = (
            await session.execute(select(OrgUnit).where(OrgUnit.code == "heshun"))
        ).scalar_one()
    await dahua.press_data(actions.LIAISON_INVITE.data(zjj.id, heshun.id))
    assert "未做任何更改" in dahua.last_text
    resident = bot.chat()
    await resident.send("/invite unit_liaison zjj")
    assert "管理员" in resident.last_text or "未做任何更改" in resident.last_text
    async with bot.db.sessions() as session:
        made = (
            await session.execute(select(Invite).where(Invite.cobuild_unit_id.is_not(None)))
        ).all()
    assert made == []


def test_the_operator_invites_a_liaison_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setattr(console, "_width", 200)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["org", "import", str(DEMO_FILE)]).exit_code == 0
    args = ["invite", "create", "--role", "unit_liaison", "--unit", "crcc-shandong"]
    made = runner.invoke(app, [*args, "--community", "dahua", "--qr-dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    assert "?start=inv_" in made.output
    unpaired = runner.invoke(app, [*args[:-1], "zjj", "--community", "dahua"])
    assert unpaired.exit_code != 0
    assert "not paired" in unpaired.output or "没有与该社区结对" in unpaired.output


def test_a_liaisons_menu_has_their_commands() -> None:
    names = [name for name, _ in command_list(["unit_liaison"], "en")]
    assert names[-3:] == ["pledge", "progress", "complete"]
