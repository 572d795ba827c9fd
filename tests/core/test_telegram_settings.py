"""Telegram's settings checked at start: an empty token means Telegram is off, and webhook mode
needs the URL Telegram posts to."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import runtime
from bot.config import load_settings
from bot.exceptions import ConfigError


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")


@pytest.mark.parametrize("token", ["", "   "])
async def test_an_empty_token_means_telegram_is_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token: str
) -> None:
    monkeypatch.setenv("REDGRID_TELEGRAM__TOKEN", token)
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3")
    settings = load_settings()
    assert settings.telegram.token is None
    built = runtime.build(settings)
    try:
        assert built.telegram is None
        assert "telegram: off" in " ".join(runtime.describe(built))
    finally:
        await built.db.dispose()


def test_webhook_mode_without_a_url_names_both_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_TELEGRAM__TOKEN", "123456:" + "A" * 35)
    monkeypatch.setenv("REDGRID_TELEGRAM__MODE", "webhook")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert "telegram.mode" in message and "telegram.webhook_url" in message
    assert "A" * 35 not in message
    monkeypatch.setenv("REDGRID_TELEGRAM__WEBHOOK_URL", "https://bot.example.org/tg/hook")
    assert load_settings().telegram.webhook_url.endswith("/tg/hook")
    # Telegram off: its mode asks for nothing.
    monkeypatch.delenv("REDGRID_TELEGRAM__WEBHOOK_URL")
    monkeypatch.setenv("REDGRID_TELEGRAM__TOKEN", "")
    assert load_settings().telegram.token is None
