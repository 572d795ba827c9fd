"""Logs never hold a phone number or a secret: a whole journey logged at DEBUG, SQL included."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from bot.config import load_settings
from bot.logging_setup import MaskingFilter, configure_logging, mask_phones, secrets_of
from tests.conftest import Bot
from tests.handlers.journey import BUILDING, COMMUNITY, COMPOUND, STREET, report_light

PHONE = "+8613812345678"
# A mobile number, also when split by spaces or dashes.
DIGITS = re.compile(r"(?<!\d)1[3-9](?:[ -]?\d){9}(?!\d)")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG (SQL statements with their parameters too), as configured
    for `redgrid run`."""
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    sql = logging.getLogger("sqlalchemy.engine")
    sql_level = sql.level
    handler = configure_logging(logging.DEBUG, stream=stream)
    sql.setLevel(logging.INFO)  # logs every statement's parameters: the phone among them
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        sql.setLevel(sql_level)


async def test_a_whole_journey_logs_no_phone_number(captured: io.StringIO, bot: Bot) -> None:
    resident = bot.chat("u-log-1")
    await resident.send("/start")
    for label in (STREET["zh"], COMMUNITY["zh"], COMPOUND["zh"], BUILDING["zh"]):
        await resident.press(label)
    await resident.send("2-301")
    await resident.share_contact(PHONE)
    reference = await report_light(resident, "楼道灯坏了，请打13812345678联系我")
    logging.getLogger("tests").error("resident %s called from %s", reference, "139 1234 5678")
    text = captured.getvalue()
    assert "INSERT" in text or "UPDATE" in text  # the SQL, with its parameters, was logged
    assert "***" in text  # and the phone passed through the logs, masked
    leaked = DIGITS.search(text)
    assert leaked is None, text[max(0, leaked.start() - 300) : leaked.end() + 50]
    assert reference in text  # references are not personal data and stay readable


def test_phone_forms_are_masked() -> None:
    for phone in (
        "13812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "008613812345678",
        "0532-88886666",
        "(0532) 8888 6666",
        "+1 415 555 0100",
    ):
        assert "***" in mask_phones(f"电话{phone}谢谢"), phone
        assert not re.search(r"\d{4}", mask_phones(f"call {phone} now")), phone


def test_what_is_not_a_phone_stays() -> None:
    for text in (
        "request JM-2026-000123 accepted",
        "update test:1284 failed",
        "at 2026-11-24 09:30",
        "lat 36.3887 lon 120.4469",
        "telegram update 734829123",
    ):
        assert mask_phones(text) == text


def test_secrets_never_reach_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    token = "123456789:AAFakeTokenFakeTokenFakeTokenFake123"
    settings = load_settings(
        telegram={"token": token, "webhook_secret": "hook-secret-xyz"},
        webchat={"session_secret": "cookie-secret-abc"},
        database={"url": "postgresql+asyncpg://bot:pg-pass-123@db.example/redgrid"},
    )
    assert {"hook-secret-xyz", "cookie-secret-abc", "pg-pass-123", token} <= set(
        secrets_of(settings)
    )
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging(logging.INFO, settings=settings, stream=stream)
    try:
        log = logging.getLogger("tests.secrets")
        log.info("settings: %s", settings)  # pydantic prints SecretStr as '**********'
        log.warning("calling https://api.telegram.org/bot%s/getMe", token)
        log.warning("connecting to %s", "postgresql://bot:pg-pass-123@db.example/redgrid")
        try:
            raise RuntimeError("bad secret hook-secret-xyz / cookie-secret-abc")
        except RuntimeError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    text = stream.getvalue()
    assert "failed" in text and "RuntimeError" in text
    for secret in ("hook-secret-xyz", "cookie-secret-abc", "pg-pass-123", "AAFakeToken"):
        assert secret not in text
    # Even a token the settings do not know is recognised by its shape.
    assert "AAFake" not in MaskingFilter().mask(f"bot{token}")
