"""A card's photos as each channel shows them: its own file ids, web chat uploads as files
(the file gone: not shown elsewhere), on the web other channels' photos fetched when opened."""

from __future__ import annotations

from pathlib import Path

from bot.messages import Outgoing
from bot.services.cases import cards
from models import Category, Request
from tests import factories as f

UPLOAD = "0123456789abcdef0123456789abcdef.jpg"


def test_photos_are_fitted_to_the_recipients_channel(tmp_path: Path) -> None:
    (tmp_path / UPLOAD).write_bytes(b"\xff\xd8")
    settings = f.settings(webchat={"upload_dir": str(tmp_path)})
    photos = (
        ("telegram", "AgAD-1"),
        ("webchat", UPLOAD),
        ("webchat", "f" * 32 + ".jpg"),  # its file is gone: nothing to show
        *(("telegram", f"AgAD-{n}") for n in range(2, 13)),
    )
    ctx = cards.CardContext(Request(id=1), Category(), None, None, settings, photos=photos)
    on_telegram = cards.album_for(ctx, "telegram")
    assert on_telegram[:2] == ["AgAD-1", str((tmp_path / UPLOAD).resolve())]
    assert len(on_telegram) == cards.ALBUM_SIZE
    # The web chat shows its own uploads by name (a deleted one answers 404 there), and
    # fetches Telegram's photos when opened.
    on_web = cards.album_for(ctx, "webchat")
    assert on_web[:3] == ["remote:telegram:AgAD-1", UPLOAD, "f" * 32 + ".jpg"]
    assert len(on_web) == cards.ALBUM_SIZE
    assert cards.album_for(ctx, "wechat") == [str((tmp_path / UPLOAD).resolve())]
    message = cards.with_album(Outgoing(text="card"), ctx, "wechat")
    assert message.album == [str((tmp_path / UPLOAD).resolve())]
