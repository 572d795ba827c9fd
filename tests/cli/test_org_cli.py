"""`redgrid org import` and `redgrid org show` against a temporary SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.common import console
from bot.services.org.importer import DEMO_FILE

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated, empty SQLite database that the CLI is configured to use."""
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("REDGRID_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("REDGRID_DATABASE__URL", f"sqlite+aiosqlite:///{path}")
    # Rich wraps at the width it found when the console was made; a wide one keeps lines whole.
    monkeypatch.setattr(console, "_width", 200)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return path


def _count_row(output: str, kind: str) -> list[str]:
    line = next(line for line in output.splitlines() if f" {kind} " in line)
    return [cell.strip() for cell in line.strip("│┃ ").split("│")]


def test_import_prints_counts_then_updates_nothing(database: Path) -> None:
    first = runner.invoke(app, ["org", "import", str(DEMO_FILE)])
    assert first.exit_code == 0, first.output
    assert _count_row(first.output, "grid") == ["grid", "18", "0", "0"]
    assert _count_row(first.output, "building") == ["building", "73", "0", "0"]
    second = runner.invoke(app, ["org", "import", str(DEMO_FILE)])
    assert second.exit_code == 0, second.output
    assert _count_row(second.output, "grid") == ["grid", "0", "0", "18"]


def test_if_empty_skips_a_database_with_units(database: Path) -> None:
    first = runner.invoke(app, ["org", "import", str(DEMO_FILE), "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "skipped" not in first.output
    assert _count_row(first.output, "compound") == ["compound", "20", "0", "0"]
    again = runner.invoke(app, ["org", "import", str(DEMO_FILE), "--if-empty"])
    assert again.exit_code == 0, again.output
    assert "import skipped (--if-empty)" in again.output
    assert "compound" not in again.output


def test_a_bad_file_prints_line_and_field_and_exits_1(database: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "district: {code: d, name_zh: 区}\nstreets:\n  - code: s\n    name_zh: [街道\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["org", "import", str(bad)])
    assert result.exit_code == 1
    assert "line 4, field name_zh" in result.output
    assert "nothing was changed" in result.output
    shown = runner.invoke(app, ["org", "show"])
    assert "no org units yet" in shown.output


def test_show_prints_the_tree_with_compounds(database: Path) -> None:
    empty = runner.invoke(app, ["org", "show"])
    assert empty.exit_code == 0 and "no org units yet" in empty.output
    runner.invoke(app, ["org", "import", str(DEMO_FILE)])
    result = runner.invoke(app, ["org", "show"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    district = next(i for i, line in enumerate(lines) if "即墨区" in line)
    heshun = next(i for i, line in enumerate(lines) if "和顺社区 / Heshun Community" in line)
    sunshine = next(line for line in lines if "海盛·新阳光地带" in line)
    assert district < heshun
    assert "compound haisheng-sunshine, 18 buildings, 333 households" in sunshine
    assert any("和顺社区第一网格" in line and "grid heshun-1" in line for line in lines)
    assert any("中建八局即墨项目红扳手服务队" in line and "team" in line for line in lines)
    # Children are indented below their parent.
    assert lines[heshun].index("和顺社区") > lines[district].index("即墨区")
