"""`redgrid qr compound`: a compound's printable QR code, whose link starts the bot with the
compound chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from typer.testing import CliRunner

from bot.cli import app as cli
from tests.conftest import Bot
from tests.handlers.journey import BUILDING

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo-jimo.yaml"


def test_a_compounds_qr_code_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDGRID_CONFIG", "/nonexistent-config.yaml")
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3")
    monkeypatch.setenv("REDGRID_WEB__PUBLIC_URL", "https://grid.example.org")
    monkeypatch.setenv("REDGRID_MEETINGS__BOT_USERNAME", "redgrid_bot")
    monkeypatch.delenv("REDGRID_TELEGRAM__TOKEN", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli, ["org", "import", str(DEMO)]).exit_code == 0
    made = runner.invoke(cli, ["qr", "compound", "haisheng-sunshine"])
    assert made.exit_code == 0, made.output
    assert "https://grid.example.org/?start=c_haisheng-sunshine" in made.output
    assert "https://t.me/redgrid_bot?start=c_haisheng-sunshine" in made.output
    for kind, link in (
        ("web", "https://grid.example.org/?start=c_haisheng-sunshine"),
        ("telegram", "https://t.me/redgrid_bot?start=c_haisheng-sunshine"),
    ):
        png = tmp_path / "data" / "qr" / f"compound-haisheng-sunshine-{kind}.png"
        assert [b.text for b in zxingcpp.read_barcodes(Image.open(png))] == [link]
    unknown = runner.invoke(cli, ["qr", "compound", "no-such-compound"])
    assert unknown.exit_code == 1 and "no-such-compound" in unknown.output
    assert runner.invoke(cli, ["qr", "compound"]).exit_code == 2
    every = runner.invoke(cli, ["qr", "compound", "--all"])
    assert every.exit_code == 0 and "c_city-garden" in every.output


async def test_the_code_in_the_link_chooses_the_compound(bot: Bot) -> None:
    chat = bot.chat()
    await chat.send("/start c_haisheng-sunshine")
    assert BUILDING["zh"] in chat.buttons
    for payload in ("c_haisheng sunshine", "c_" + "x" * 63, "c_HAISHENG-sunshine%", "c_"):
        other = bot.chat()
        await other.send(f"/start {payload}")
        assert BUILDING["zh"] not in other.buttons and "潮海街道" in other.buttons, payload
