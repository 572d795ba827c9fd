"""The web chat's bottom menu and start screen follow the person's roles; /help gives staff
their daily work first and every command one tap away (on every channel)."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.web import menu
from models import ChannelIdentity, Role, RoleGrant
from tests.conftest import Bot
from tests.handlers.staff_journey import staff_chat
from tests.web.conftest import Web


async def test_each_role_gets_its_own_menu_and_home(web: Web) -> None:
    resident = (await web.start())["menu"]
    assert isinstance(resident, dict)
    assert [label for label, _ in resident["main"]] == ["新诉求", "我的诉求"]
    assert resident["home"] == "/start"
    expected = {
        "grid-liu": (["待办", "查找"], "/queue"),
        "admin-chen": (["统计", "广播"], "/stats"),
        "volunteer-sun": (["我的任务", "服务时长"], "/mytasks"),
        "steward-zhou": (["待办", "查找"], "/queue"),
        # A registered resident opens on the menu, not on "let's update your address".
        "zhang-ayi": (["新诉求", "我的诉求"], "/menu"),
        # A reporting unit's liaison (a UnitLiaison row, not a grant) opens on the needs to
        # pledge for, not on registering as a resident.
        "liaison-hua": (["认领项目", "报告进展"], "/pledge"),
    }
    for person, (labels, home) in expected.items():
        shown = (await web.as_demo(person))["menu"]
        assert isinstance(shown, dict)
        assert [label for label, _ in shown["main"]] == labels, person
        assert shown["home"] == home, person
    admin = menu.page_menu(("admin",), "zh")
    commands = [command for _, command in admin["more"]]
    assert "/export" in commands and "/find " in commands  # /find waits for a reference
    assert "/stats" not in commands and "/cancel" not in commands
    assert commands[0] == "/queue" and commands[-1] == "/hours"  # work first, own after
    # Co-building is found in the menu, not only in the README.
    assert {"/needs", "/need ", "/ranking", "/callout", "/reportin"} <= set(commands)
    resident = menu.page_menu(("resident",), "zh", registered=True)
    assert {"/board", "/reportin", "/hours"} <= {command for _, command in resident["more"]}
    # 报告进展 is sent as it is: the answer offers the unit's projects in progress as buttons.
    liaison = menu.page_menu(("unit_liaison",), "zh")
    assert ("报告进展", "/progress") in [tuple(item) for item in liaison["main"]]


async def test_help_gives_staff_their_daily_work_and_the_rest_in_one_tap(bot: Bot) -> None:
    resident = bot.chat()
    await resident.send("/help")
    assert "/queue" not in resident.last_text and "新诉求" in resident.last_text
    assert "全部命令" not in " ".join(resident.buttons)  # residents' help as it was
    staff = await staff_chat(bot)
    await staff.send("/help")
    text = staff.last_text
    assert text.startswith("您每天常用的命令")
    assert "/queue 待办诉求" in text and "/find" in text and "/whistle" in text
    assert len(text.splitlines()) <= 6  # short enough for a phone
    assert "/meetings" not in text and "/new" not in text and "/stats" not in text
    assert staff.buttons == ["📋 待办列表", "📖 全部命令"]
    await staff.press("📋 待办列表")
    assert "待办" in staff.last_text
    await staff.send("/help")
    await staff.press("📖 全部命令")
    text = staff.last_text
    assert text.startswith("您的工作命令") and "/queue 待办诉求" in text and "/meetings" in text
    assert "/stats" not in text and "/new" in text  # and the resident's help after it
    assert "/reportin 在职党员双报到" not in text  # not listed as a work command
    await staff.send("/help all")
    assert staff.last_text == text
    await resident.send("/help")
    assert "工作命令" not in resident.last_text
    # Findable on WeChat too, where there is no command menu.
    assert "/reportin" in resident.last_text and "/board" in resident.last_text


async def test_an_admins_help_is_short_too(bot: Bot) -> None:
    admin = await staff_chat(bot, role=Role.admin, unit="heshun")
    await admin.send("/help")
    text = admin.last_text
    assert len(text.splitlines()) <= 6, text
    assert "/stats" in text and "/queue" in text and "/broadcast" in text
    assert "/grant" not in text and "/propertypoll" not in text
    await admin.press("📖 全部命令")
    assert "/grant" in admin.last_text and "/propertypoll" in admin.last_text


async def test_the_full_help_lists_the_roles_held_at_the_press(bot: Bot) -> None:
    """A help message kept in the chat shows what the person holds when they press it."""
    staff = await staff_chat(bot)
    await staff.send("/help")
    async with bot.db.sessions() as session, session.begin():
        held = select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == staff.user_id)
        await session.execute(delete(RoleGrant).where(RoleGrant.person_id.in_(held)))
    await staff.press("📖 全部命令")
    assert "工作命令" not in staff.last_text and "/queue" not in staff.last_text
