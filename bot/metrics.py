"""Counters of this process, rendered as Prometheus text by `/metrics`.

The engine counts every update it is handed, whatever the channel (it takes this object as its
`metrics`). Outbox figures are read from the database at scrape time, so they cover every
worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


@dataclass
class PartHealth:
    """How a part started in the background (Telegram) is doing, for /healthz."""

    state: Literal["starting", "running", "retrying"] = "starting"
    since: datetime | None = None
    attempts: int = 0
    last_error: str | None = None  # the exception's type only: its text may hold a token

    def describe(self) -> dict[str, Any]:
        """The state as JSON for the operators' /healthz."""
        return {
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }


class Metrics:
    """Updates by channel and outcome, HTTP responses by status, errors, last sweep time."""

    def __init__(self) -> None:
        self.updates: Counter[tuple[str, str]] = Counter()
        self.http: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        # Set by the scheduler after each sweep; shown by /healthz and /metrics.
        self.last_sweep_at: datetime | None = None
        # Scheduled runs this process made, by job (with several workers, each job runs in
        # the one holding its lease).
        self.sweeps: Counter[str] = Counter()
        # Parts started in the background, by name ("telegram"), set by their supervisor.
        self.parts: dict[str, PartHealth] = {}

    def count_update(self, channel: str, status: str) -> None:
        """Count one update handed to the engine and how it ended."""
        self.updates[(channel, status)] += 1
        if status == "failed":
            self.errors["update_failed"] += 1

    def count_error(self, kind: str) -> None:
        """Count an error outside the engine (a database outage, an unhandled exception)."""
        self.errors[kind] += 1

    def count_sweep(self, name: str) -> None:
        """Count one scheduled run of the job `name` in this process."""
        self.sweeps[name] += 1

    def render(self, *, outbox: Mapping[str, int], oldest_due_age_s: float | None) -> str:
        """The Prometheus text exposition of everything counted plus the outbox figures."""
        lines = [
            "# HELP redgrid_updates_total Updates handed to the engine, by channel and outcome.",
            "# TYPE redgrid_updates_total counter",
        ]
        for (channel, status), count in sorted(self.updates.items()):
            lines.append(f"redgrid_updates_total{_labels(channel=channel, status=status)} {count}")
        lines += [
            "# HELP redgrid_errors_total Errors by kind.",
            "# TYPE redgrid_errors_total counter",
        ]
        for kind, count in sorted(self.errors.items()):
            lines.append(f"redgrid_errors_total{_labels(kind=kind)} {count}")
        lines += [
            "# HELP redgrid_http_responses_total HTTP responses of this process, by status.",
            "# TYPE redgrid_http_responses_total counter",
        ]
        for code, count in sorted(self.http.items()):
            lines.append(f"redgrid_http_responses_total{_labels(status=str(code))} {count}")
        lines += [
            "# HELP redgrid_outbox_rows Outbox rows by status (all workers).",
            "# TYPE redgrid_outbox_rows gauge",
        ]
        for status, count in sorted(outbox.items()):
            lines.append(f"redgrid_outbox_rows{_labels(status=status)} {count}")
        lines += [
            "# HELP redgrid_outbox_oldest_due_age_seconds Age of the oldest due unsent row.",
            "# TYPE redgrid_outbox_oldest_due_age_seconds gauge",
            f"redgrid_outbox_oldest_due_age_seconds {oldest_due_age_s or 0:.3f}",
        ]
        if self.parts:
            lines += [
                "# HELP redgrid_part_running 1 while a background part (telegram) is running.",
                "# TYPE redgrid_part_running gauge",
            ]
        for name, part in sorted(self.parts.items()):
            running = int(part.state == "running")
            lines.append(f"redgrid_part_running{_labels(part=name)} {running}")
        if self.sweeps:
            lines += [
                "# HELP redgrid_sweeps_total Scheduled sweeps this process ran, by job.",
                "# TYPE redgrid_sweeps_total counter",
            ]
        for job, count in sorted(self.sweeps.items()):
            lines.append(f"redgrid_sweeps_total{_labels(job=job)} {count}")
        if self.last_sweep_at is not None:
            lines += [
                "# HELP redgrid_last_sweep_timestamp_seconds When the last scheduled sweep ran.",
                "# TYPE redgrid_last_sweep_timestamp_seconds gauge",
                f"redgrid_last_sweep_timestamp_seconds {self.last_sweep_at.timestamp():.3f}",
            ]
        return "\n".join(lines) + "\n"
