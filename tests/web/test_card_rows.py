"""How the web chat shows a staff card: the photos sent with it (its own uploads, by name or by
their path; another channel's photo only as the sender fitted it, fetched when opened; a bare
file id is not for a browser), and an edit replacing the message it changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.messages import Outgoing
from bot.web.render import render_row
from models import OutboxMessage

UPLOAD = "0123456789abcdef0123456789abcdef.jpg"


def test_a_card_row_shows_its_own_uploads_and_says_what_it_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    settings = load_settings(webchat={"upload_dir": str(tmp_path / "uploads")})
    elsewhere = f"/srv/other/{UPLOAD}"  # not the upload folder: not shown
    remote = "remote:telegram:AgAD/+x"  # fetched through Telegram when opened
    album = [UPLOAD, str(tmp_path / "uploads" / UPLOAD), "AgAD", elsewhere, remote]
    card = Outgoing(text="【JM-2026-000001】", album=album)
    shown = render_row(OutboxMessage(id=7, payload=card.to_payload()), settings)
    assert shown["images"] == [
        {"url": f"/api/photos/{UPLOAD}"},
        {"url": f"/api/photos/{UPLOAD}"},
        {"url": "/api/remote-photos/telegram/AgAD%2F%2Bx"},
    ]
    assert shown["edit"] is None
    edit = Outgoing(text="已签收", edit_message_id="7")
    assert render_row(OutboxMessage(id=9, payload=edit.to_payload()), settings)["edit"] == 7
    odd = Outgoing(text="x", edit_message_id="tg-42")  # not one of ours: a new message
    assert render_row(OutboxMessage(id=10, payload=odd.to_payload()), settings)["edit"] is None
