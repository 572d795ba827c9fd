"""How the web chat shows a staff card: the photos sent with it (its own uploads, by name; other
channels' file ids are not for a browser), and an edit replacing the message it changed."""

from __future__ import annotations

from bot.messages import Outgoing
from bot.web.chat import render_row
from models import OutboxMessage

UPLOAD = "0123456789abcdef0123456789abcdef.jpg"


def test_a_card_row_shows_its_own_uploads_and_says_what_it_edits() -> None:
    album = [UPLOAD, f"/srv/data/uploads/{UPLOAD}", "AgAD"]
    card = Outgoing(text="【JM-2026-000001】", album=album)
    row = OutboxMessage(id=7, payload=card.to_payload())
    shown = render_row(row)
    assert shown["photos"] == [UPLOAD, UPLOAD] and shown["edits"] is None
    edit = Outgoing(text="已签收", edit_message_id="7")
    assert render_row(OutboxMessage(id=9, payload=edit.to_payload()))["edits"] == 7
    odd = Outgoing(text="x", edit_message_id="tg-42")  # not one of ours: a new message
    assert render_row(OutboxMessage(id=10, payload=odd.to_payload()))["edits"] is None
