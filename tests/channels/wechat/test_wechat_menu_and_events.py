"""Menu clicks run the commands of the same name, a compound's QR code (followed or scanned)
starts registration there, unfollowing makes the identity unreachable; `redgrid wechat menu`
and `redgrid wechat qr` set the menu and make the code."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.wechat.menu import menu_body
from models import ChannelIdentity, Compound
from tests.channels.wechat.conftest import WechatRig, wechat_settings
from tests.conftest import _migrated
from tests.fakes.wechat_api import FakeWechatAPI

ROOT = Path(__file__).resolve().parents[3]


async def _identity(rig: WechatRig, openid: str) -> ChannelIdentity:
    async with rig.db.sessions() as session:
        query = select(ChannelIdentity).where(ChannelIdentity.external_id == openid)
        return (await session.execute(query)).scalar_one()


async def test_menu_clicks_run_commands(rig: WechatRig) -> None:
    user = rig.driver.user("o_menu_1")
    await user.subscribe()
    delivery = await user.click("help")
    assert user.texts, (delivery, user.all_texts)
    await user.click("my")
    assert user.texts
    await user.click("no-such-key")
    assert user.last.body == "success" if user.last else False


async def test_scanning_a_compound_code_starts_registration_there(rig: WechatRig) -> None:
    async with rig.db.sessions() as session:
        compound_id = await session.scalar(
            select(Compound.id).where(Compound.name_zh == "海盛·新阳光地带")
        )
    user = rig.driver.user("o_scan_1")
    await user.subscribe()
    await user.scan(f"c_{compound_id}")
    assert any("海盛·新阳光地带" in text for text in user.texts), user.texts
    assert "17号楼" in user.buttons


async def test_unfollowing_makes_the_identity_unreachable_until_they_follow_again(
    rig: WechatRig,
) -> None:
    user = rig.driver.user("o_unfollow_1")
    await user.subscribe()
    delivery = await user.unsubscribe()
    assert delivery.ok and delivery.body == "success"
    await rig.callback.idle()
    assert (await _identity(rig, user.openid)).unreachable_at is not None
    rig.clock.advance(seconds=30)
    await user.subscribe()
    assert (await _identity(rig, user.openid)).unreachable_at is None


def test_the_menu_has_the_three_buttons() -> None:
    body = menu_body("zh")
    assert [b["name"] for b in body["button"]] == ["新诉求", "我的诉求", "更多"]
    more = body["button"][2]["sub_button"]
    assert [(b["name"], b["key"]) for b in more] == [
        ("帮助", "help"),
        ("隐私", "privacy"),
        ("语言", "language"),
    ]


async def _redgrid(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def test_the_menu_and_qr_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    api = FakeWechatAPI()
    await api.start()
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"
    engine = await _migrated(url, demo=True)
    async with engine.connect() as connection:
        compound_id = await connection.scalar(select(Compound.id).limit(1))
    await engine.dispose()
    settings = wechat_settings(api, tmp_path / "uploads", "safe")
    wechat = settings.wechat
    env = {
        **os.environ,
        "REDGRID_DATABASE__URL": url,
        "REDGRID_WECHAT__ENABLED": "true",
        "REDGRID_WECHAT__APP_ID": wechat.app_id,
        "REDGRID_WECHAT__APP_SECRET": wechat.app_secret.get_secret_value(),  # type: ignore[union-attr]
        "REDGRID_WECHAT__TOKEN": wechat.token.get_secret_value(),  # type: ignore[union-attr]
        "REDGRID_WECHAT__ENCODING_AES_KEY": wechat.encoding_aes_key.get_secret_value(),  # type: ignore[union-attr]
        "REDGRID_WECHAT__API_BASE_URL": api.base_url,
    }
    try:
        code, out = await _redgrid(env, "wechat", "menu")
        assert code == 0, out
        assert api.menu == menu_body("zh")
        out_dir = tmp_path / "qr"
        code, out = await _redgrid(
            env, "wechat", "qr", "--compound", str(compound_id), "--out-dir", str(out_dir)
        )
        assert code == 0, out
        (request,) = api.qrcodes
        assert request["action_name"] == "QR_LIMIT_STR_SCENE"
        assert request["action_info"]["scene"]["scene_str"] == f"c_{compound_id}"
        png = out_dir / f"compound-{compound_id}.png"
        assert png.is_file() and oct(png.stat().st_mode & 0o777) == "0o600"
        code, out = await _redgrid(env, "wechat", "qr", "--compound", "999999")
        assert code == 1 and "no compound" in out
    finally:
        await api.close()
