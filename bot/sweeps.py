"""The registry of scheduled sweeps: each is declared beside its domain with `@sweep(...)`.

A bottom module (it imports nothing of ours), so every service package may use it. The
decorator only records the function; `bot.scheduler` imports the service packages, which
fills the registry, and schedules what is registered. A sweep's schedule and on/off switch
are settings (`scheduler.<name>` in config.yaml, one `JobSettings` per sweep), so operators
change them without code; the decorator says what the sweep is and how it runs:

- a plain sweep gets `(session, *, now, settings)` in a unit of work the scheduler opens and
  commits, and returns how many items it handled (an int, or a list of them);
- `batched=True`: it also gets `limit=` and is repeated, one transaction per batch, while a
  batch comes back full;
- `own_sessions=True`: it gets `(sessions, *, now, settings)` and opens its own units of work
  (for long work that must not hold the database's write lock, like retraining a model);
- `heartbeat=True`: a run is the "last sweep" operators see in /healthz and /metrics.

A sweep is idempotent, so several workers may run the same schedule: rows are claimed with
FOR UPDATE SKIP LOCKED or with a unique `ScheduleMark`.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Sweep:
    """One registered sweep; `run` is the decorated function itself."""

    name: str
    run: Callable[..., Any]
    description: str
    batched: bool = False
    own_sessions: bool = False
    heartbeat: bool = False


REGISTRY: dict[str, Sweep] = {}


def sweep(
    name: str,
    *,
    description: str,
    batched: bool = False,
    own_sessions: bool = False,
    heartbeat: bool = False,
) -> Callable[[F], F]:
    """Register the decorated async function as the sweep `name` (its settings key too)."""

    def register(function: F) -> F:
        known = REGISTRY.get(name)
        # The same function seen again (its module imported anew) replaces itself.
        if known is not None and _where(known.run) != _where(function):
            raise ValueError(f"two sweeps are named {name!r}")
        REGISTRY[name] = Sweep(name, function, description, batched, own_sessions, heartbeat)
        return function

    return register


def _where(function: Callable[..., Any]) -> tuple[str, str]:
    return function.__module__, function.__qualname__


def handled(result: int | Sized) -> int:
    """How many items a sweep's result stands for: a count, or the list of what it handled."""
    return result if isinstance(result, int) else len(result)
