"""The polling setting: from config.yaml, overridable by the environment, checked at start."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from bot.exceptions import ConfigError


def test_polling_chats_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().telegram.polling_chats == 64
    monkeypatch.setenv("REDGRID_TELEGRAM__POLLING_CHATS", "16")
    assert load_settings().telegram.polling_chats == 16


@pytest.mark.parametrize("value", ["0", "1001", "many"])
def test_a_bad_polling_chats_names_the_key(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("REDGRID_TELEGRAM__POLLING_CHATS", value)
    with pytest.raises(ConfigError, match=r"telegram\.polling_chats"):
        load_settings()
