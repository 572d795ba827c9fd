"""The layers are a contract `make lint` checks: an import against them fails the lint.

Each test runs the contract of pyproject.toml on a copy of the packages, once as they are and
once with one forbidden import planted in a copy of a module."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = "Layers: entry points > handlers > core > services > outbox rows > models"


def _copy(to: Path) -> None:
    """The Python source of the packages and the contract, as in the repository."""
    for package in ("bot", "handlers", "models"):
        for source in (ROOT / package).rglob("*.py"):
            target = to / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    shutil.copyfile(ROOT / "pyproject.toml", to / "pyproject.toml")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _broken(output: str) -> set[str]:
    """The names of the contracts the report says are broken."""
    return {
        match.group(1)
        for match in re.finditer(r"^(.+) BROKEN(?: \(\d+ ignored imports\))?$", output, re.M)
    }


def test_the_packages_keep_the_contract(tmp_path: Path) -> None:
    _copy(tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "broken"),
    [
        (
            "bot/core/engine.py",
            "from bot.channels import testing",
            {LAYERS, "The core, handlers and services never import a channel or the web"},
        ),
        ("bot/services/__init__.py", "import handlers", {LAYERS}),
        (  # the runtime imports the channels: the core would reach them through it
            "bot/core/router.py",
            "from bot.runtime import Runtime",
            {LAYERS, "The core, handlers and services never import a channel or the web"},
        ),
        (
            "handlers/__init__.py",
            "from bot.core.engine import Engine",
            {"Handlers use the core only through its Context and Router"},
        ),
        ("models/__init__.py", "from bot import config", {"Models import nothing of ours"}),
        (
            "bot/messages.py",
            "from bot.core import context",
            # and the outbox's rows, below the core, would reach it through the messages
            {LAYERS, "Shared bottom modules import none of the layers"},
        ),
    ],
)
def test_an_import_against_the_layers_breaks_the_contract(
    tmp_path: Path, module: str, planted: str, broken: set[str]
) -> None:
    _copy(tmp_path)
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{planted}  # planted\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert _broken(result.stdout) == broken
    assert planted.split()[1] in result.stdout  # the report names what was imported
