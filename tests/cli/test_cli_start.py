"""`redgrid --version` and `--help` start fast: loading the command line imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot import __version__

ROOT = Path(__file__).resolve().parents[2]

# The database, settings, services and output libraries a command loads when it runs.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "pydantic",
    "pydantic_settings",
    "yaml",
    "rich",
    "openpyxl",
    "qrcode",
    "matplotlib",
    "PIL",
    "fastapi",
    "uvicorn",
    "telegram",
    "aiogram",
    "jieba",
    "models",
    "bot.services",
    "bot.config",
    "bot.db",
)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_loading_the_command_line_imports_nothing_heavy() -> None:
    shown = _python("-c", "import json, sys, bot.cli; print(json.dumps(sorted(sys.modules)))")
    assert shown.returncode == 0, shown.stderr
    loaded = json.loads(shown.stdout)
    heavy = sorted(
        name for name in loaded if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )
    assert heavy == []


def test_version_and_help_still_answer() -> None:
    version = _python("-m", "bot", "--version")
    assert (version.returncode, version.stdout) == (0, f"redgrid {__version__}\n")
    top = _python("-m", "bot", "--help")
    assert top.returncode == 0, top.stderr
    assert "redgrid: residents' requests to the grid that must act." in top.stdout
    commands = (
        "db",
        "org",
        "jobs",
        "invite",
        "qr",
        "sessions",
        "people",
        "classify",
        "run",
        "route",
    )
    for command in (*commands, "stats", "export"):
        assert f" {command} " in top.stdout, command
    invite = _python("-m", "bot", "invite", "--help")
    assert invite.returncode == 0, invite.stderr
    assert "Usage: redgrid invite" in invite.stdout
    assert "create" in invite.stdout and "single-use invite" in invite.stdout
    create = _python("-m", "bot", "invite", "create", "--help")
    assert create.returncode == 0, create.stderr
    for option in ("--role", "--unit", "--expires", "--leader", "--qr-dir"):
        assert option in create.stdout, option
