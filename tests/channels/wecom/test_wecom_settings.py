"""The `wecom` settings section: off by default, secrets hidden, environment overrides (the
robots' keys too), and the callback route and channels present only when configured."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot import runtime
from bot.config import load_settings
from bot.exceptions import ConfigError
from bot.web import create_app
from tests.fakes.wecom_callback import AES_KEY

SECRET = "wecom-app-secret-8080"
ROBOT = "robot-key-secret-4711"


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3")
    monkeypatch.setenv("REDGRID_WEBCHAT__SESSION_SECRET", "s" * 32)


def _enable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_WECOM__ENABLED", "true")
    monkeypatch.setenv("REDGRID_WECOM__CORP_ID", "ww0123456789abcdef")
    monkeypatch.setenv("REDGRID_WECOM__AGENT_ID", "1000002")
    monkeypatch.setenv("REDGRID_WECOM__SECRET", SECRET)
    monkeypatch.setenv("REDGRID_WECOM__TOKEN", "callback-token")
    monkeypatch.setenv("REDGRID_WECOM__ENCODING_AES_KEY", AES_KEY)


def test_off_by_default_with_the_contract_defaults() -> None:
    wecom = load_settings().wecom
    assert wecom.enabled is False
    assert wecom.api_base_url == "https://qyapi.weixin.qq.com"
    assert wecom.robots == {}
    assert wecom.member_per_minute < 30 and wecom.member_per_hour < 1000
    assert wecom.robot_per_minute < 20


def test_environment_overrides_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    _enable(monkeypatch)
    monkeypatch.setenv("REDGRID_WECOM__ROBOTS", f'{{"heshun": "{ROBOT}"}}')
    wecom = load_settings().wecom
    assert wecom.agent_id == 1000002
    assert wecom.secret is not None and wecom.secret.get_secret_value() == SECRET
    assert wecom.robots["heshun"].get_secret_value() == ROBOT
    assert all(s not in repr(wecom) for s in (SECRET, AES_KEY, ROBOT, "callback-token"))


def test_missing_keys_are_named_and_secrets_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_WECOM__ENABLED", "true")
    monkeypatch.setenv("REDGRID_WECOM__SECRET", SECRET)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    for name in ("corp_id", "agent_id", "token", "encoding_aes_key"):
        assert f"wecom.{name}" in message
    assert SECRET not in message
    monkeypatch.setenv("REDGRID_WECOM__MEMBER_PER_MINUTE", "31")
    with pytest.raises(ConfigError):
        load_settings()


async def _callback_status(app: FastAPI) -> int:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get("/wecom/callback")).status_code


@pytest.mark.parametrize("enabled", [False, True])
async def test_the_callback_is_served_only_when_enabled(
    monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    if enabled:
        _enable(monkeypatch)
        monkeypatch.setenv("REDGRID_WECOM__ROBOTS", f'{{"heshun": "{ROBOT}"}}')
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
        assert ("wecom" in built.engine.outputs) is enabled
        assert ("wecom_robot" in built.engine.outputs) is enabled
        assert ("wecom:" in " ".join(runtime.describe(built))) is enabled
    finally:
        await built.db.dispose()
        for name in ("wecom", "wecom_robot"):
            if name in built.engine.outputs:
                await built.engine.outputs[name].api.close()  # type: ignore[attr-defined]
