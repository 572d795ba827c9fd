"""`redgrid stats` and `redgrid export` against a temporary SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.common import console
from bot.services.org.importer import DEMO_FILE

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("REDGRID_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setattr(console, "_width", 200)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["org", "import", str(DEMO_FILE)]).exit_code == 0
    return path


def test_stats_prints_the_children_and_the_ranking(database: Path) -> None:
    result = runner.invoke(app, ["stats", "--unit", "heshun", "--period", "2026-11"])
    assert result.exit_code == 0, result.output
    assert "heshun-1" in result.output and "TOTAL" in result.output and "ranking" in result.output
    bad = runner.invoke(app, ["stats", "--unit", "nowhere"])
    assert bad.exit_code == 1 and "nowhere" in bad.output


def test_export_writes_a_workbook(database: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "requests.xlsx"
    result = runner.invoke(
        app, ["export", "--unit", "heshun", "--period", "2026", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["requests", "events"]
    service = tmp_path / "service.xlsx"
    result = runner.invoke(app, ["export", "--kind", "service", "--out", str(service)])
    assert result.exit_code == 0, result.output
    assert load_workbook(service).sheetnames == ["service_records"]
