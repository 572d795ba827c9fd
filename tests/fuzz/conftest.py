"""Fuzzing figures and seeds: what ran, printed in the pytest terminal summary.

Two seeds per run: a fixed one (the same examples every time) and a random one, taken from
`REDGRID_FUZZ_SEED` when set so a failure seen in CI replays exactly:
`REDGRID_FUZZ_SEED=<seed> pytest tests/fuzz`.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import pytest

FIXED_SEED = 20261124
RANDOM_SEED = int(os.environ.get("REDGRID_FUZZ_SEED") or random.SystemRandom().randrange(2**32))


@dataclass
class Figures:
    """Counters shared by every fuzz test of the session."""

    examples: int = 0
    updates: int = 0  # updates generated and fed through the engine
    scripted: int = 0  # updates of the scripted warm-up (onboarding + report), not generated
    pushes: int = 0  # outbox rows delivered by the sender while fuzzing
    invariants: int = 0  # invariant checks that ran
    failures: int = 0  # invariant checks that failed (shrinking repeats count again)
    handled: set[str] = field(default_factory=set)  # button actions and commands that worked
    requests: int = 0  # requests that existed at the end of examples
    known: dict[str, int] = field(default_factory=dict)  # crashes of open, reported bugs
    found: dict[str, str] = field(default_factory=dict)  # survey mode: distinct violations


FIGURES = Figures()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES.examples:
        return
    f = FIGURES
    terminalreporter.write_sep("-", "fuzz figures")
    terminalreporter.write_line(
        f"fuzz: {f.updates} updates generated (+{f.scripted} scripted) in {f.examples} examples, "
        f"{f.pushes} pushes delivered, {f.invariants} invariants checked, {f.failures} failures"
    )
    terminalreporter.write_line(
        f"fuzz coverage: {len(f.handled)} distinct commands/button actions handled "
        f"({', '.join(sorted(f.handled))}); {f.requests} requests at example ends"
    )
    for bug, count in f.known.items():
        terminalreporter.write_line(f"fuzz known open bug hit {count} times: {bug}")
    for key, example in f.found.items():
        terminalreporter.write_line(f"fuzz found: {key}\n  {example}\n")
    terminalreporter.write_line(
        f"fuzz seeds: fixed={FIXED_SEED} random={RANDOM_SEED} "
        f"(replay: REDGRID_FUZZ_SEED={RANDOM_SEED} pytest tests/fuzz)"
    )
