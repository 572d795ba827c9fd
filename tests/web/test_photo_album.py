"""Photos picked together in the web chat (one `group`): answered once, as a Telegram album;
each photo is still its own update, kept by itself."""

from __future__ import annotations

from pathlib import Path

from bot.web.auth import CSRF_HEADER
from tests.web.conftest import Web
from tests.web.test_api import JPEG, _onboard


async def _photo(web: Web, csrf: str, key: str, group: str = "") -> None:
    data = {"key": key, **({"group": group} if group else {})}
    response = await web.client.post(
        "/api/photo",
        files={"file": ("photo.jpg", JPEG, "image/jpeg")},
        data=data,
        headers={CSRF_HEADER: csrf},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "handled" and response.json()["photo"]


def _drafts(texts: list[str]) -> list[str]:
    return [text for text in texts if "照片：" in text]


async def test_photos_picked_together_get_one_draft(web: Web, tmp_path: Path) -> None:
    csrf = str((await web.start())["csrf"])
    await _onboard(web, csrf)
    await web.send(csrf, "report-key-0001", kind="text", text="楼道灯坏了")
    before = len(await web.texts())
    for n in range(3):
        await _photo(web, csrf, f"album-photo-{n:04d}", group="album-group-0001")
    assert _drafts((await web.texts())[before:]) == []  # waiting for the album's next photo
    web.clock.advance(seconds=3)
    await web.sender.pump()
    (draft,) = _drafts((await web.texts())[before:])
    assert "照片：3 张" in draft
    assert len(list((tmp_path / "uploads").iterdir())) == 3  # every photo kept


async def test_a_photo_sent_alone_is_answered_at_once(web: Web) -> None:
    csrf = str((await web.start())["csrf"])
    await _onboard(web, csrf)
    await web.send(csrf, "report-key-0001", kind="text", text="楼道灯坏了")
    await _photo(web, csrf, "lone-photo-0001")
    await _photo(web, csrf, "lone-photo-0002")
    drafts = _drafts(await web.texts())
    assert "照片：1 张" in drafts[-2] and "照片：2 张" in drafts[-1]


async def test_a_malformed_group_is_refused(web: Web) -> None:
    csrf = str((await web.start())["csrf"])
    response = await web.client.post(
        "/api/photo",
        files={"file": ("photo.jpg", JPEG, "image/jpeg")},
        data={"key": "photo-key-0001", "group": "../x"},
        headers={CSRF_HEADER: csrf},
    )
    assert response.status_code == 422
