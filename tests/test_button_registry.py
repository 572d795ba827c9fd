"""The registry of button actions: every declared action is handled exactly once, every handled
action is declared, and the wire codes buttons already sent carry never change."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import bot.services
import handlers
from bot import buttons
from bot.core.router import Router
from bot.services.cases import actions as cases_actions
from bot.services.meetings import actions as meetings_actions
from bot.services.org import actions as org_actions

ROOT = Path(__file__).resolve().parents[1]

# Every action's wire code as buttons already in people's chats carry it: a code that changes
# or goes away turns those buttons stale. Append new actions; never edit a line.
SENT: dict[str, str] = {
    "broadcast.progress": "amprog",
    "broadcast.send": "amsend",
    "broadcast.stop": "amstop",
    "broadcast.target": "amtgt",
    "evaluation.satisfied": "evf",
    "evaluation.skip_comment": "evc",
    "evaluation.solved": "evs",
    "evaluation.start": "ev",
    "invite.create": "ainc",
    "invite.role": "ainr",
    "invite.team": "ainv",
    "language.choose": "lang",
    "language.set": "setlang",
    "meeting.call_off": "mtcx",
    "meeting.call_off_now": "mtcxy",
    "meeting.check_in": "mtci",
    "meeting.compound": "mtcp",
    "meeting.convene": "mtnew",
    "meeting.households": "mthh",
    "meeting.minutes": "mtmin",
    "meeting.no_actions": "mtna",
    "meeting.notice": "mtqr",
    "meeting.open": "mtv",
    "meeting.outcome": "mtout",
    "meeting.place": "mtpl",
    "meeting.rsvp": "mtr",
    "meeting.scope": "mtsc",
    "meeting.send": "mtgo",
    "meeting.topic_from_request": "mttp",
    "meeting.unit": "mtun",
    "meeting.units_done": "mtud",
    "menu.show": "menu",
    "mine.add_info": "radd",
    "mine.add_info_done": "raddok",
    "mine.list": "my",
    "mine.open": "rq",
    "mine.withdraw": "rwd",
    "onboarding.building": "bd",
    "onboarding.community": "cm",
    "onboarding.compound": "cp",
    "onboarding.skip_phone": "skipphone",
    "onboarding.skip_room": "skiproom",
    "onboarding.street": "st",
    "poll.close": "mtpc",
    "poll.new": "mtpn",
    "poll.open": "mtpo",
    "poll.open_for": "mtpoh",
    "poll.options_done": "mtod",
    "poll.rule": "mtpr",
    "poll.status": "mtps",
    "poll.vote": "mtvote",
    "privacy.delete": "pdel",
    "privacy.delete_confirmed": "pdelok",
    "privacy.show": "privacy",
    "queue.open": "so",
    "queue.page": "sq",
    "report.all_categories": "rcats",
    "report.category": "rcat",
    "report.collected": "rdone",
    "report.me_too": "rmetoo",
    "report.place": "rplace",
    "report.start": "new",
    "report.submit": "rsubmit",
    "report.submit_anyway": "rnew",
    "report.urgency": "rurg",
    "request.accept": "acc",
    "request.ask_info": "sai",
    "request.cancel": "scx",
    "request.category": "scat",
    "request.category_chosen": "scc",
    "request.contact": "sct",
    "request.internal_note": "sni",
    "request.merge": "smg",
    "request.more_actions": "smore",
    "request.photos": "sph",
    "request.photos_done": "sphok",
    "request.public_note": "snp",
    "request.resolve": "srs",
    "request.resolve_done": "srsok",
    "request.return": "ret",
    "request.show_phone": "sphone",
    "request.start": "sst",
    "request.transfer": "trf",
    "request.transfer_drill": "trfu",
    "request.transfer_to": "trfc",
    "request.volunteer_task": "stk",
    "request.whistle": "swh",
    "request.whistle_blow": "swok",
    "request.whistle_department": "swd",
    "task.cannot": "vlx",
    "task.claim": "vlc",
    "task.finish": "vld",
    "task.hours": "vldh",
    "task.new": "vlnew",
    "task.on_my_way": "vlw",
    "task.open": "vlo",
    "task.photos_done": "vldp",
    "task.rate": "vlr",
    "upkeep.compound": "upk",
    "upkeep.set": "upkc",
    "volunteer.day": "vlad",
    "volunteer.profile_done": "vlatd",
    "volunteer.skill": "vls",
    "volunteer.skills_done": "vlsd",
    "volunteer.time": "vlat",
    "whistle.acknowledge": "whack",
    "whistle.done": "whdone",
    "whistle.on_site": "whsite",
    "report.submit_at": "rsubat",
    "report.skip_room": "rroom",
    "report.reply_is_new": "rrnew",
    "onboarding.location": "onbloc",
    "onboarding.not_this_compound": "onbst",
    "cobuild.report_in": "cbru",
    "cobuild.member_confirm": "cbmok",
    "cobuild.member_decline": "cbmno",
    "cobuild.join": "cbjoin",
    "cobuild.hours_confirm": "cbhok",
    "cobuild.need_raise": "cbraise",
    "cobuild.need_support": "cbsup",
    "cobuild.board": "cbboard",
    "cobuild.project_confirm": "cbpok",
    "cobuild.project_decline": "cbpno",
    "cobuild.grade": "cbgrade",
    "cobuild.property_rate": "cbprop",
    "cobuild.property_vote": "cbpoll",
    "cobuild.liaison_invite": "cbinvl",
    "cobuild.pledge_need": "cbpn",
    "cobuild.pledge_step": "cbps",
    "cobuild.callout_step": "cbco",
    "cobuild.needs_of": "cbneeds",
    "cobuild.needs_page": "cbneedp",
    "cobuild.progress_on": "cbprog",
    "help.all": "helpall",
    "request.other_actions": "sother",
}


def _declared() -> dict[str, buttons.ButtonAction]:
    """Every domain package's action module, imported; the declared actions by name."""
    for package in pkgutil.iter_modules(bot.services.__path__):
        if (ROOT / "bot" / "services" / package.name / "actions.py").exists():
            importlib.import_module(f"bot.services.{package.name}.actions")
    return {action.name: action for action in buttons.declared()}


def test_every_declared_action_has_one_handler_and_every_handler_is_declared() -> None:
    declared = _declared()
    router = handlers.build_router()
    assert sorted(router.buttons) == sorted(action.wire for action in declared.values())


def test_an_action_handled_twice_fails() -> None:
    router = Router()

    async def handler(*_args: object) -> None:
        return None

    router.button(cases_actions.ACCEPT)(handler)
    with pytest.raises(ValueError, match="handled twice"):
        router.button(cases_actions.ACCEPT)(handler)


def test_wire_codes_of_buttons_already_sent_never_change() -> None:
    declared = {name: action.wire for name, action in _declared().items()}
    assert {name: declared.get(name) for name in SENT} == SENT
    assert len(declared) == len(SENT), "a new action: append it to SENT"


@pytest.mark.parametrize(
    ("action", "args", "sent"),
    [
        (cases_actions.ACCEPT, (17,), "v1:acc:17"),
        (meetings_actions.RSVP, (3, "c"), "v1:mtr:3:c"),
        (org_actions.MENU, (), "v1:menu"),
    ],
)
def test_data_is_built_and_read_as_before(
    action: buttons.ButtonAction, args: tuple[object, ...], sent: str
) -> None:
    assert action.data(*args) == sent
    assert action.button("label", *args).data == sent
    decoded = buttons.decode(sent)
    assert decoded is not None and decoded.action == action.wire
    assert decoded.args == tuple(str(arg) for arg in args)


def test_an_action_takes_its_declared_arguments() -> None:
    with pytest.raises(TypeError):
        cases_actions.ACCEPT.data()
    with pytest.raises(TypeError):
        org_actions.MENU.data(1)


def test_a_new_version_gets_a_new_wire_code() -> None:
    again = buttons.ButtonAction("request.accept", "acc", ("request_id",), version=2)
    assert again.wire == "acc2" and again.data(5) == "v1:acc2:5"


@pytest.mark.parametrize(
    ("name", "code", "args"),
    [
        ("request.accept", "zzzz", ()),  # the name is taken
        ("request.accept_twice", "acc", ()),  # the wire code is taken
        ("accept", "zzzz", ()),  # a name says its domain: "request.accept"
        ("x.y", "Acc", ()),  # wire codes are lowercase letters
        ("x.y", "a:b", ()),
        ("x.y", "zzzz", tuple(f"a{chr(97 + i)}" for i in range(6))),  # could exceed 64 bytes
    ],
)
def test_a_bad_declaration_fails_at_import(name: str, code: str, args: tuple[str, ...]) -> None:
    before = buttons.declared()
    with pytest.raises(ValueError):
        buttons.declare(name, code, *args)
    assert buttons.declared() == before


def _encoding_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "bot.buttons":
            found += [f"imports {a.name}" for a in node.names if a.name == "encode"]
        elif isinstance(node, ast.Attribute) and node.attr == "encode":
            if isinstance(node.value, ast.Name) and node.value.id == "buttons":
                found.append(f"line {node.lineno}: buttons.encode")
        elif isinstance(node, ast.Constant) and str(node.value).startswith(buttons.VERSION + ":"):
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_product_code_builds_buttons_only_through_declared_actions() -> None:
    sources = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]
    uses = {
        str(path.relative_to(ROOT)): found
        for path in sources
        if path != ROOT / "bot" / "buttons.py" and (found := _encoding_uses(path))
    }
    assert uses == {}
