"""How fast the command line starts: `redgrid --version` and `--help` against `import typer`.

Each command runs ROUNDS times as a fresh process, alternating, so both see the same machine
load; wall time and the child's CPU (user + system, from getrusage) are measured per run.
Prints a table of medians and, as its last line, one JSON object:
{"typer_import_ms", "version_ms", "help_ms", "ratio"} (median CPU ms; ratio = version / typer).
Usage: python bench/cli_start.py [ROUNDS]
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
COMMANDS: dict[str, list[str]] = {
    "import typer": [sys.executable, "-c", "import typer"],
    "redgrid --version": [sys.executable, "-m", "bot", "--version"],
    "redgrid --help": [sys.executable, "-m", "bot", "--help"],
}


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one run of argv."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 1000 * wall, 1000 * cpu


def main() -> None:
    for argv in COMMANDS.values():
        run_once(argv)  # warm the file cache and the bytecode
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(ROUNDS):
        for name, argv in COMMANDS.items():
            wall, cpu = run_once(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
    cpu_ms = {name: statistics.median(values) for name, values in cpus.items()}
    print(f"{'command':<20}{'wall ms':>10}{'cpu ms':>10}   ({ROUNDS} runs, medians)")
    for name in COMMANDS:
        print(f"{name:<20}{statistics.median(walls[name]):>10.1f}{cpu_ms[name]:>10.1f}")
    typer_ms = cpu_ms["import typer"]
    version_ms = cpu_ms["redgrid --version"]
    result = {
        "typer_import_ms": round(typer_ms, 1),
        "version_ms": round(version_ms, 1),
        "help_ms": round(cpu_ms["redgrid --help"], 1),
        "ratio": round(version_ms / typer_ms, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
