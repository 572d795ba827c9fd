"""Quiet hours: when non-urgent pushes wait (22:00-07:00 local by default)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo


def parse_hhmm(value: str) -> time:
    """'22:00' -> time(22, 0)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class QuietHours:
    """A daily local window; start == end means no quiet hours at all."""

    def __init__(self, start: str, end: str, tz: tzinfo) -> None:
        self.start = parse_hhmm(start)
        self.end = parse_hhmm(end)
        self.tz = tz

    def is_quiet(self, now: datetime) -> bool:
        """True when `now` falls inside the window."""
        local = now.astimezone(self.tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_at(self, now: datetime) -> datetime:
        """The next end of the window after `now`, in UTC."""
        local = now.astimezone(self.tz)
        candidate = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.tz)
        return candidate.astimezone(UTC)
