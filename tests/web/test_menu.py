"""The web chat's bottom menu and start screen follow the person's roles; /help lists the
work commands of staff roles (on every channel)."""

from __future__ import annotations

from bot.web import menu
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


async def test_help_lists_the_work_commands_of_staff(bot: Bot) -> None:
    resident = bot.chat()
    await resident.send("/help")
    assert "/queue" not in resident.last_text and "新诉求" in resident.last_text
    staff = await staff_chat(bot)
    await staff.send("/help")
    text = staff.last_text
    assert text.startswith("您的工作命令") and "/queue 待办诉求" in text and "/find" in text
    assert "/stats" not in text and "/new" in text  # and the resident's help after it
    assert "/reportin 在职党员双报到" not in text  # not listed as a work command
    await resident.send("/help")
    assert "工作命令" not in resident.last_text
    # Findable on WeChat too, where there is no command menu.
    assert "/reportin" in resident.last_text and "/board" in resident.last_text
