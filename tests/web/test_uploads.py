"""Photo uploads on SQLite and PostgreSQL: they count against the flood limit, stay only when a
flow takes them, and are readable by the server's user only."""

from __future__ import annotations

import stat
from pathlib import Path

from bot.core.flood import FloodGate
from bot.web.auth import CSRF_HEADER
from tests.web.conftest import Web
from tests.web.test_api import JPEG, _onboard


async def _photo(web: Web, csrf: str, key: str) -> tuple[int, dict[str, object]]:
    response = await web.client.post(
        "/api/photo",
        files={"file": ("p.jpg", JPEG, "image/jpeg")},
        data={"key": key},
        headers={CSRF_HEADER: csrf},
    )
    return response.status_code, response.json()


async def _reporting(web: Web) -> str:
    """A registered resident in the middle of a report (photos are welcome); their CSRF."""
    session = await web.start()
    csrf = str(session["csrf"])
    await _onboard(web, csrf)
    await web.send(csrf, "report-key-0001", kind="text", text="楼道灯坏了")
    return csrf


def _stored(web: Web) -> list[Path]:
    folder = web.settings.webchat.upload_dir
    return sorted(folder.iterdir()) if folder.exists() else []


async def test_photos_count_against_the_flood_limit_before_they_are_read(web: Web) -> None:
    csrf = await _reporting(web)
    web.app.state.web.engine.flood = FloodGate(2)
    assert (await _photo(web, csrf, "photo-key-0001"))[0] == 200
    assert (await _photo(web, csrf, "photo-key-0002"))[0] == 200
    status, body = await _photo(web, csrf, "photo-key-0003")
    assert status == 429
    assert body["code"] == "photo_flood"
    assert "您发得太快了" in str(body["error"]) and "秒后再发这张照片" in str(body["error"])
    assert len(_stored(web)) == 2  # the refused one was never written


async def test_a_photo_no_flow_takes_is_not_kept(web: Web) -> None:
    session = await web.start()  # a newcomer: the bot asks for their address first
    status, body = await _photo(web, str(session["csrf"]), "photo-key-0001")
    assert status == 200 and body["status"] == "handled"
    assert _stored(web) == []


async def test_a_retried_photo_is_stored_once(web: Web) -> None:
    csrf = await _reporting(web)
    assert (await _photo(web, csrf, "photo-key-0001"))[1]["status"] == "handled"
    assert (await _photo(web, csrf, "photo-key-0001"))[1]["status"] == "duplicate"
    assert len(_stored(web)) == 1


async def test_uploads_are_readable_by_the_owner_only(web: Web) -> None:
    csrf = await _reporting(web)
    assert (await _photo(web, csrf, "photo-key-0001"))[0] == 200
    [stored] = _stored(web)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700


async def test_an_existing_open_upload_folder_is_closed(web: Web) -> None:
    folder = web.settings.webchat.upload_dir
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    csrf = await _reporting(web)
    assert (await _photo(web, csrf, "photo-key-0001"))[0] == 200
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
