"""Telegram rendering and update conversion, framework-free."""

from __future__ import annotations

import re

from bot.channels.telegram_common import (
    ALLOWED_UPDATES,
    MAX_TEXT,
    classify_failure,
    escape,
    incoming_from_update,
    plan,
    reply_markup_json,
    split_text,
)
from bot.commands import RESIDENT_COMMANDS, ROLE_COMMANDS, command_list
from bot.messages import Button, Outgoing

USER = {"id": 42, "is_bot": False, "first_name": "王", "last_name": "芳", "language_code": "en"}
CHAT = {"id": 42, "type": "private"}


def _message(**content: object) -> dict[str, object]:
    return {
        "update_id": 7,
        "message": {"message_id": 3, "date": 0, "chat": CHAT, "from": USER, **content},
    }


def test_escape_only_touches_html_specials() -> None:
    assert escape('<script>alert("x")</script> & 你好') == (
        '&lt;script&gt;alert("x")&lt;/script&gt; &amp; 你好'
    )


def test_split_keeps_short_text_whole() -> None:
    assert split_text("你好") == ["你好"]
    assert split_text("") == [""]


def test_split_cuts_at_line_then_sentence_boundaries() -> None:
    lines = "\n".join(f"第{i}行：楼道灯坏了，请尽快处理。" for i in range(600))
    pieces = split_text(lines)
    assert len(pieces) > 1
    assert all(len(p) <= MAX_TEXT for p in pieces)
    assert all(p.endswith("处理。") for p in pieces)
    assert "\n".join(pieces) == lines
    prose = "楼道灯坏了，请尽快处理。" * 700
    pieces = split_text(prose)
    assert all(len(p) <= MAX_TEXT and p.endswith("。") for p in pieces)
    assert "".join(pieces) == prose


def test_split_counts_utf16_units() -> None:
    emoji = "🙂" * 3000  # 6000 UTF-16 units
    pieces = split_text(emoji)
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in pieces)
    assert "".join(pieces) == emoji


def test_plan_puts_inline_keyboard_on_the_last_piece_and_escapes() -> None:
    message = Outgoing(text="<b>" + "字" * 5000, buttons=[[Button("好", "ok")]])
    parts = plan(message)
    assert [p.method for p in parts] == ["sendMessage", "sendMessage"]
    assert parts[0].text.startswith("&lt;b&gt;") and not parts[0].inline
    assert parts[1].inline == ((("好", "ok"),),)


def test_plan_sends_reply_keyboard_separately_from_inline_buttons() -> None:
    message = Outgoing(
        text="选街道",
        buttons=[[Button("潮海街道", "st:1")]],
        reply_requests=[("📍 发送位置", "location")],
    )
    first, second = plan(message)
    assert first.inline and not first.reply
    markup = reply_markup_json(second)
    assert markup is not None and markup["keyboard"][0][0]["request_location"] is True


def test_plan_removes_reply_keyboard_and_can_still_attach_buttons() -> None:
    (part,) = plan(Outgoing(text="好了", remove_reply_keyboard=True))
    assert reply_markup_json(part) == {"remove_keyboard": True}
    (part,) = plan(
        Outgoing(text="好了", buttons=[[Button("菜单", "menu")]], remove_reply_keyboard=True)
    )
    assert part.remove_keyboard and part.inline_after and part.inline


def test_plan_edits_when_asked_and_long_captions_become_text() -> None:
    (edit,) = plan(Outgoing(text="新的", edit_message_id="9", buttons=[[Button("a", "b")]]))
    assert edit.method == "editMessageText" and edit.edit_message_id == "9"
    photo, text = plan(Outgoing(text="说明" * 600, photo="file-1"))
    assert photo.method == "sendPhoto" and photo.text == "" and text.method == "sendMessage"
    (doc,) = plan(Outgoing(text="导出", document="/tmp/x.csv", document_name="x.csv"))
    assert doc.method == "sendDocument" and doc.filename == "x.csv"


def test_failures_map_to_send_results() -> None:
    assert classify_failure(429, "Too Many Requests", 7).retry_after == 7
    assert classify_failure(403, "Forbidden: bot was blocked by the user", None).unreachable
    assert classify_failure(400, "Bad Request: chat not found", None).unreachable
    assert classify_failure(400, "Bad Request: can't parse entities", None).permanent
    server = classify_failure(None, "NetworkError: Bad Gateway", None)
    assert not (server.ok or server.permanent or server.unreachable) and server.retry_after is None


def test_text_command_and_deep_link() -> None:
    incoming = incoming_from_update(_message(text="/start c_12"))
    assert incoming is not None
    assert (incoming.kind, incoming.command, incoming.args) == ("command", "start", "c_12")
    assert (incoming.update_id, incoming.chat_id, incoming.user_id) == ("7", "42", "42")
    assert incoming.language_code == "en" and incoming.display_name == "王 芳"
    named = incoming_from_update(_message(text="/Help@redgrid_bot"))
    assert named is not None and named.command == "help"
    text = incoming_from_update(_message(text="漏水了"))
    assert text is not None and (text.kind, text.text) == ("text", "漏水了")


def test_callback_query_keeps_the_pressed_message() -> None:
    update = {
        "update_id": 8,
        "callback_query": {
            "id": "q1",
            "from": USER,
            "chat_instance": "1",
            "data": "st:1",
            "message": {"message_id": 55, "date": 0, "chat": CHAT, "text": "选街道"},
        },
    }
    incoming = incoming_from_update(update)
    assert incoming is not None
    assert (incoming.kind, incoming.button_data, incoming.message_id) == ("button", "st:1", "55")


def test_location_contact_photo_voice_document_and_other() -> None:
    location = incoming_from_update(_message(location={"latitude": 36.39, "longitude": 120.45}))
    assert location is not None and (location.latitude, location.longitude) == (36.39, 120.45)
    contact = incoming_from_update(
        _message(contact={"phone_number": "+8613800000000", "first_name": "王", "user_id": 99})
    )
    assert contact is not None and (contact.contact_phone, contact.contact_user_id) == (
        "+8613800000000",
        "99",
    )
    sizes = [
        {"file_id": f"p{i}", "file_unique_id": f"u{i}", "width": w, "height": w, "file_size": s}
        for i, (w, s) in enumerate(((90, 100), (1280, 9000), (320, 900)))
    ]
    photo = incoming_from_update(_message(photo=sizes, caption="三楼"))
    assert photo is not None and photo.kind == "photo" and photo.text == "三楼"
    assert [(p.file_id, p.file_size) for p in photo.photos] == [("p1", 9000)]
    voice = incoming_from_update(
        _message(voice={"file_id": "v", "file_unique_id": "v", "duration": 4})
    )
    assert voice is not None and (voice.kind, voice.voice_file_id, voice.voice_duration) == (
        "voice",
        "v",
        4,
    )
    document = incoming_from_update(
        _message(document={"file_id": "d", "file_unique_id": "d", "file_name": "a.pdf"})
    )
    assert document is not None and (document.kind, document.document_file_id) == ("document", "d")
    sticker = incoming_from_update(_message(sticker={"file_id": "s"}))
    assert sticker is not None and sticker.kind == "other"
    assert incoming_from_update({"update_id": 9, "edited_message": {}}) is None


def test_group_chat_is_flagged() -> None:
    update = _message(text="hi")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup"}  # type: ignore[index]
    incoming = incoming_from_update(update)
    assert incoming is not None and incoming.is_group and incoming.chat_id == "-100123"


def test_command_lists_follow_roles_and_known_commands() -> None:
    known = ["start", "new", "my", "help", "queue", "mytasks"]
    resident = command_list([], "zh", known)
    assert [name for name, _ in resident] == ["start", "new", "my", "help"]
    staff = dict(command_list(["grid_staff"], "en", known))
    assert "queue" in staff and "mytasks" not in staff and staff["new"] == "Report a new request"
    both = [name for name, _ in command_list(["volunteer", "admin"], "zh")]
    assert both[: len(RESIDENT_COMMANDS)] == list(RESIDENT_COMMANDS)
    assert {"mytasks", "grant", "queue"} <= set(both) and len(both) == len(set(both))


def test_every_listed_command_is_a_command_of_the_bot() -> None:
    from handlers import build_router

    registered = set(build_router().commands)
    listed = set(RESIDENT_COMMANDS).union(*ROLE_COMMANDS.values())
    assert listed <= registered, listed - registered
    for locale in ("zh", "en"):
        for name, description in command_list(list(ROLE_COMMANDS), locale):
            # Telegram: 1-32 lowercase letters, digits and underscores; 1-256 characters.
            assert re.fullmatch(r"[a-z0-9_]{1,32}", name) and 0 < len(description) <= 256


def test_commands_addressed_to_another_bot_are_not_ours() -> None:
    ours = incoming_from_update(
        _message(text="/start@RedGrid_Bot c_12"), bot_username="redgrid_bot"
    )
    assert ours is not None and (ours.kind, ours.command, ours.args) == ("command", "start", "c_12")
    assert (
        incoming_from_update(_message(text="/start@OtherBot"), bot_username="redgrid_bot") is None
    )
    plain = incoming_from_update(_message(text="/help"), bot_username="redgrid_bot")
    assert plain is not None and plain.command == "help"


def test_blocking_the_bot_is_a_reachability_update() -> None:
    def member(status: str, chat: dict[str, object] = CHAT) -> dict[str, object]:
        return {
            "update_id": 11,
            "my_chat_member": {
                "chat": chat,
                "from": USER,
                "date": 0,
                "old_chat_member": {"user": {"id": 1, "is_bot": True}, "status": "member"},
                "new_chat_member": {"user": {"id": 1, "is_bot": True}, "status": status},
            },
        }

    blocked = incoming_from_update(member("kicked"))
    assert blocked is not None
    assert (blocked.kind, blocked.reachable, blocked.chat_id, blocked.user_id) == (
        "reachability",
        False,
        "42",
        "42",
    )
    back = incoming_from_update(member("member"))
    assert back is not None and back.reachable is True
    group = {"id": -100123, "type": "supergroup"}
    assert incoming_from_update(member("kicked", group)) is None  # the bot left a group
    assert "my_chat_member" in ALLOWED_UPDATES
