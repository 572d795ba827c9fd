"""The `wechat` settings section: off by default, secrets hidden, environment overrides, and
the callback route present only when the channel is on."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot import runtime
from bot.config import load_settings
from bot.exceptions import ConfigError
from bot.web import create_app
from tests.fakes.wechat_callback import AES_KEY

SECRET = "wechat-app-secret-5150"


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3")
    monkeypatch.setenv("REDGRID_WEBCHAT__SESSION_SECRET", "s" * 32)


def _enable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_WECHAT__ENABLED", "true")
    monkeypatch.setenv("REDGRID_WECHAT__APP_ID", "wx0123456789abcdef")
    monkeypatch.setenv("REDGRID_WECHAT__APP_SECRET", SECRET)
    monkeypatch.setenv("REDGRID_WECHAT__TOKEN", "callback-token")
    monkeypatch.setenv("REDGRID_WECHAT__ENCODING_AES_KEY", AES_KEY)


def test_off_by_default_with_the_contract_defaults() -> None:
    wechat = load_settings().wechat
    assert wechat.enabled is False
    assert wechat.api_base_url == "https://api.weixin.qq.com"
    assert wechat.encrypt_mode in ("plain", "compatible", "safe")
    assert wechat.templates == {}


def test_environment_overrides_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    _enable(monkeypatch)
    monkeypatch.setenv("REDGRID_WECHAT__ENCRYPT_MODE", "compatible")
    wechat = load_settings().wechat
    assert wechat.token is not None and wechat.token.get_secret_value() == "callback-token"
    assert wechat.encrypt_mode == "compatible"
    assert SECRET not in repr(wechat) and AES_KEY not in repr(wechat)


def test_missing_keys_are_named_and_secrets_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_WECHAT__ENABLED", "true")
    monkeypatch.setenv("REDGRID_WECHAT__APP_SECRET", SECRET)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "wechat.app_id" in message and "wechat.token" in message
    assert "wechat.encoding_aes_key" in message
    monkeypatch.setenv("REDGRID_WECHAT__ENCODING_AES_KEY", "too-short-" + SECRET)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "43" in str(raised.value) and SECRET not in str(raised.value)


async def _callback_status(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get("/wechat/callback")).status_code


@pytest.mark.parametrize("enabled", [False, True])
async def test_the_callback_is_served_only_when_enabled(
    monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    if enabled:
        _enable(monkeypatch)
    built = runtime.build(load_settings())
    try:
        app = create_app(
            engine=built.engine,
            sessions=built.sessions,
            settings=built.settings,
            extra_routers=built.routers,
        )
        # Unsigned: refused when the route is there, not found when it is not.
        assert await _callback_status(app) == (403 if enabled else 404)
        assert ("wechat" in built.engine.outputs) is enabled
        assert ("wechat:" in " ".join(runtime.describe(built))) is enabled
    finally:
        await built.db.dispose()
        if enabled:
            await built.engine.outputs["wechat"].api.close()  # type: ignore[attr-defined]


def test_templates_are_named_by_push_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    template = {"template_id": "TPL", "fields": {"first": "{text}"}}
    kinds = load_settings(wechat={"templates": {"cobuild": template, "default": template}})
    assert set(kinds.wechat.templates) == {"cobuild", "default"}
    with pytest.raises(ConfigError) as raised:
        load_settings(wechat={"templates": {"stauts": template}})
    assert "stauts" in str(raised.value)
