"""Both framework adapters against the fake Bot API: rendering, error mapping, updates."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from bot.channels.telegram_base import TelegramAdapter
from bot.channels.telegram_common import incoming_from_update
from bot.channels.telegram_runtime import sync_commands, sync_default_commands
from bot.commands import MEMBER_COMMANDS, RESIDENT_COMMANDS
from bot.messages import Button, CommandMenu, Outgoing
from models import ChannelIdentity, OrgUnit, Person, Role, RoleGrant
from tests.e2e.conftest import make_client
from tests.fakes.bot_api import FakeBotAPI

if TYPE_CHECKING:
    from tests.conftest import TestDB

CHAT = "4242"


@pytest.fixture(params=["ptb", "aiogram"])
async def wired(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[FakeBotAPI, TelegramAdapter]]:
    api = FakeBotAPI()
    await api.start()
    client = make_client(str(request.param), api)
    await client.start()
    try:
        yield api, client
    finally:
        await client.close()
        await api.close()


async def test_text_buttons_and_long_text(wired: tuple[FakeBotAPI, TelegramAdapter]) -> None:
    api, client = wired
    result = await client.send(CHAT, Outgoing(text="<b>好</b> & 你", buttons=[[Button("是", "y")]]))
    assert result.ok and result.message_id
    (message,) = api.messages[CHAT]
    assert message["text"] == "<b>好</b> & 你"
    assert message["reply_markup"]["inline_keyboard"][0][0] == {"text": "是", "callback_data": "y"}
    long = "\n".join(f"第{i}行，楼道灯坏了。" for i in range(700))
    assert (await client.send(CHAT, Outgoing(text=long))).ok
    pieces = [m["text"] for m in api.messages[CHAT][1:]]
    assert len(pieces) == 3 and "\n".join(pieces) == long


async def test_reply_keyboards(wired: tuple[FakeBotAPI, TelegramAdapter]) -> None:
    api, client = wired
    await client.send(CHAT, Outgoing(text="电话？", reply_requests=[("📱 发送手机号", "contact")]))
    markup = api.markups[(CHAT, api.messages[CHAT][-1]["message_id"])]
    assert markup["keyboard"][0][0]["request_contact"] is True
    await client.send(
        CHAT, Outgoing(text="好了", buttons=[[Button("菜单", "menu")]], remove_reply_keyboard=True)
    )
    last = api.messages[CHAT][-1]
    assert api.markups[(CHAT, last["message_id"])] == {"remove_keyboard": True}
    assert last["reply_markup"]["inline_keyboard"][0][0]["text"] == "菜单"  # attached after


@pytest.mark.parametrize(
    ("status", "description", "retry_after", "expect"),
    [
        (429, "Too Many Requests: retry after 3", 3, "retry_after"),
        (403, "Forbidden: bot was blocked by the user", None, "unreachable"),
        (400, "Bad Request: can't parse entities", None, "permanent"),
        (500, "Internal Server Error", None, "retry"),
        (502, "Bad Gateway", None, "retry"),
    ],
)
async def test_errors_become_send_results(
    wired: tuple[FakeBotAPI, TelegramAdapter],
    status: int,
    description: str,
    retry_after: int | None,
    expect: str,
) -> None:
    api, client = wired
    api.fail("sendMessage", status=status, description=description, retry_after=retry_after)
    result = await client.send(CHAT, Outgoing(text="hi"))
    assert not result.ok and result.error
    if expect == "retry_after":
        assert result.retry_after == 3
    elif expect == "unreachable":
        assert result.unreachable
    elif expect == "permanent":
        assert result.permanent and not result.unreachable
    else:
        assert not (result.permanent or result.unreachable) and result.retry_after is None


async def test_timeout_is_a_retry(wired: tuple[FakeBotAPI, TelegramAdapter]) -> None:
    api, client = wired
    api.fail("sendMessage", delay=4.0)  # longer than the client's 3 s timeout
    result = await client.send(CHAT, Outgoing(text="hi"))
    assert not result.ok and not result.permanent and not result.unreachable


async def test_a_server_gone_away_is_a_retry(wired: tuple[FakeBotAPI, TelegramAdapter]) -> None:
    api, client = wired
    await api.close()  # connections refused from now on
    result = await client.send(CHAT, Outgoing(text="hi"))
    assert not result.ok and not result.permanent and not result.unreachable
    assert result.error


async def test_edits(wired: tuple[FakeBotAPI, TelegramAdapter]) -> None:
    api, client = wired
    sent = await client.send(CHAT, Outgoing(text="旧", buttons=[[Button("a", "a")]]))
    assert sent.message_id is not None
    edited = await client.send(CHAT, Outgoing(text="新", edit_message_id=sent.message_id))
    assert edited.ok and api.messages[CHAT][0]["text"] == "新"
    again = await client.send(CHAT, Outgoing(text="新", edit_message_id=sent.message_id))
    assert again.ok  # "message is not modified" is fine
    gone = await client.send(CHAT, Outgoing(text="再来", edit_message_id="999999"))
    assert gone.ok and api.messages[CHAT][-1]["text"] == "再来"  # sent anew


async def test_photos_and_documents(
    wired: tuple[FakeBotAPI, TelegramAdapter], tmp_path: Path
) -> None:
    api, client = wired
    api.files["known-photo"] = b"jpeg"
    assert (await client.send(CHAT, Outgoing(text="照片", photo="known-photo"))).ok
    assert api.messages[CHAT][-1]["photo"][0]["file_id"] == "known-photo"
    assert api.messages[CHAT][-1]["caption"] == "照片"
    path = tmp_path / "export.csv"
    path.write_bytes(b"a,b\n1,2\n")
    result = await client.send(
        CHAT, Outgoing(text="导出", document=str(path), document_name="诉求.csv")
    )
    assert result.ok
    document = api.messages[CHAT][-1]["document"]
    assert document["file_name"] == "诉求.csv"
    assert api.files[document["file_id"]] == b"a,b\n1,2\n"
    assert await client.download(document["file_id"]) == b"a,b\n1,2\n"


async def test_polling_sees_every_update_type_as_the_webhook_does(
    wired: tuple[FakeBotAPI, TelegramAdapter],
) -> None:
    api, client = wired
    user = api.user(77, language_code="en")
    await user.send("/start c_12", wait=False)
    for payload in _payloads(user):
        await api.push(payload)
    raw = list(api.pending)
    fetched = await client.get_updates(offset=None, poll_timeout=0, limit=100)
    assert [incoming_from_update(u) for u in fetched] == [incoming_from_update(u) for u in raw]
    kinds = [incoming_from_update(u).kind for u in fetched]  # type: ignore[union-attr]
    assert kinds == [
        "command",
        "location",
        "contact",
        "photo",
        "voice",
        "document",
        "other",
        "button",
    ]


def _payloads(user: Any) -> list[dict[str, Any]]:
    msg = user._message
    sizes = [
        {
            "file_id": f"p{i}",
            "file_unique_id": f"u{i}",
            "width": w,
            "height": w,
            "file_size": w * 10,
        }
        for i, w in enumerate((90, 320, 1280))
    ]
    return [
        {"message": msg(location={"latitude": 36.39, "longitude": 120.45})},
        {"message": msg(contact={"phone_number": "+86138", "first_name": "a", "user_id": 77})},
        {"message": msg(photo=sizes, caption="灯")},
        {"message": msg(voice={"file_id": "v1", "file_unique_id": "v1", "duration": 3})},
        {"message": msg(document={"file_id": "d1", "file_unique_id": "d1", "file_name": "a.pdf"})},
        {
            "message": msg(
                sticker={
                    "file_id": "s1",
                    "file_unique_id": "s1",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            )
        },
        {
            "callback_query": {
                "id": "q1",
                "from": user.user,
                "chat_instance": "1",
                "data": "st:1",
                "message": msg(text="选街道"),
            }
        },
    ]


async def test_commands_per_scope(wired: tuple[FakeBotAPI, TelegramAdapter], demo: TestDB) -> None:
    api, client = wired
    known = ["start", "new", "my", "help", "queue", "stats"]
    await sync_default_commands(client, known=known, default_locale="zh")
    default = api.commands[(json.dumps({"type": "default"}), "")]
    assert [c["command"] for c in default] == ["start", "new", "my", "help"]
    assert api.commands[(json.dumps({"type": "default"}), "en")][1]["description"] == (
        "Report a new request"
    )
    async with demo.sessions() as session, session.begin():
        grid = (await session.execute(select(OrgUnit).limit(1))).scalar_one()
        person = Person(display_name="网格员", language="zh")
        session.add(person)
        await session.flush()
        session.add(
            ChannelIdentity(person_id=person.id, channel="telegram", external_id=CHAT, chat_id=CHAT)
        )
        session.add(RoleGrant(person_id=person.id, role=Role.grid_staff, unit_id=grid.id))
    async with demo.sessions() as session:
        await sync_commands(
            session, client=client, person_id=person.id, known=known, default_locale="zh"
        )
    scope = json.dumps({"chat_id": int(CHAT), "type": "chat"}, sort_keys=True)
    assert [c["command"] for c in api.commands[(scope, "")]] == [
        "start",
        "new",
        "my",
        "help",
        "queue",
    ]
    async with demo.sessions() as session, session.begin():
        grants = await session.execute(select(RoleGrant).where(RoleGrant.person_id == person.id))
        for row in grants.scalars().all():
            await session.delete(row)
    async with demo.sessions() as session:
        await sync_commands(
            session, client=client, person_id=person.id, known=known, default_locale="zh"
        )
    assert (scope, "") not in api.commands


def _menu(api: FakeBotAPI) -> list[str] | None:
    scope = json.dumps({"chat_id": int(CHAT), "type": "chat"}, sort_keys=True)
    commands = api.commands.get((scope, ""))
    return None if commands is None else [c["command"] for c in commands]


async def test_menu_rows_become_chat_scoped_commands(
    wired: tuple[FakeBotAPI, TelegramAdapter],
) -> None:
    api, client = wired
    assert client.username == api.bot_user["username"]  # from getMe
    payload = Outgoing(menu=CommandMenu(("volunteer",), "en")).to_payload()
    result = await client.send(CHAT, Outgoing.from_payload(payload))  # as the sender does
    assert result.ok and not api.messages.get(CHAT)  # a menu, not a message
    assert _menu(api) == [
        *RESIDENT_COMMANDS,
        *MEMBER_COMMANDS,
        "mytasks",
        "myhours",
        "skills",
        "team",
    ]
    scope = json.dumps({"chat_id": int(CHAT), "type": "chat"}, sort_keys=True)
    described = {c["command"]: c["description"] for c in api.commands[(scope, "")]}
    assert described["mytasks"] == "My volunteer tasks"
    client.known_commands = frozenset({"start", "help", "mytasks"})  # the router's
    assert (await client.send(CHAT, Outgoing(menu=CommandMenu(("volunteer",), "zh")))).ok
    assert _menu(api) == ["start", "help", "mytasks"]
    assert (await client.send(CHAT, Outgoing(menu=CommandMenu((), "zh")))).ok
    assert _menu(api) is None and api.calls_of("deleteMyCommands")
    api.fail("setMyCommands", status=429, description="Too Many Requests", retry_after=2)
    throttled = await client.send(CHAT, Outgoing(menu=CommandMenu(("admin",), "zh")))
    assert not throttled.ok and throttled.retry_after == 2
