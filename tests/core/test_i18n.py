"""Both catalogs hold the same messages with the same placeholders."""

from __future__ import annotations

import string

from bot import i18n


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    zh, en = i18n.catalog("zh"), i18n.catalog("en")
    assert zh, "the Chinese catalog is empty"
    assert set(zh) == set(en), set(zh) ^ set(en)
    for key in zh:
        assert _fields(zh[key]) == _fields(en[key]), key


def test_pick_locale_prefers_setting_then_client() -> None:
    assert i18n.pick_locale("en", "zh-hans", "zh") == "en"
    assert i18n.pick_locale(None, "en-US", "zh") == "en"
    assert i18n.pick_locale(None, "fr", "zh") == "zh"
    assert i18n.t("en", "core.sorry").startswith("Sorry")


def test_moments_read_the_same_everywhere() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.i18n import moment

    tz = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 12, 6, 6, 32, tzinfo=UTC)  # 14:32 in Jimo
    assert moment(at, "zh", tz) == "12月6日 14:32"
    assert moment(at, "en", tz) == "6 Dec 14:32"
    assert moment(at, "zh", tz, now=datetime(2027, 1, 2, tzinfo=UTC)) == "2026年12月6日 14:32"
    assert moment(at, "en", tz, now=datetime(2027, 1, 2, tzinfo=UTC)) == "6 Dec 2026 14:32"
    assert moment(at, "zh", tz, now=at) == "12月6日 14:32"
    assert moment(None, "zh", tz) == "-"
