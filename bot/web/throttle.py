"""A per-client-address limit on starting web chat sessions (in this process's memory).

Starting a session writes nothing, but each one can become a person with its first message:
this bounds how many a single address can make. Behind a reverse proxy the address is the one
uvicorn takes from `X-Forwarded-For` of a trusted proxy (its `forwarded_allow_ips`).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

WINDOW_S = 3600.0
MAX_ADDRESSES = 50_000  # the oldest address is forgotten past this: memory stays bounded


class AddressLimiter:
    """At most `per_hour` starts per address in any hour (0: no limit)."""

    def __init__(self, per_hour: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self._clock = clock
        self._starts: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, address: str) -> bool:
        """Count a start from `address`; False when it is over the limit (not counted)."""
        if self.per_hour <= 0:
            return True
        now = self._clock()
        starts = self._starts.pop(address, None) or deque()
        while starts and starts[0] <= now - WINDOW_S:
            starts.popleft()
        allowed = len(starts) < self.per_hour
        if allowed:
            starts.append(now)
        self._starts[address] = starts  # most recently seen last
        while len(self._starts) > MAX_ADDRESSES:
            self._starts.popitem(last=False)
        return allowed

    def retry_after(self, address: str) -> int:
        """Seconds until `address` may start a session again."""
        starts = self._starts.get(address)
        if not starts:
            return 0
        return max(1, int(starts[0] + WINDOW_S - self._clock()) + 1)
