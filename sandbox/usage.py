"""Call accounting: Graph's rolling-window usage percentages and Zalo's per-minute limit."""

from __future__ import annotations

import math
from collections import deque


class RollingUsage:
    """Calls per bucket (a page id, or "app") in a rolling window, as a share of a budget."""

    def __init__(self, budget: int, window_s: float) -> None:
        self.budget = max(1, budget)
        self.window_s = window_s
        self._calls: dict[str, deque[float]] = {}

    def record(self, bucket: str, now: float) -> None:
        """Count one call (throttled calls count too, as on Graph)."""
        self._prune(bucket, now).append(now)

    def percent(self, bucket: str, now: float) -> int:
        """Integer percentage of the budget used in the window (may exceed 100)."""
        return (len(self._prune(bucket, now)) * 100) // self.budget

    def regain_minutes(self, bucket: str, now: float) -> int:
        """Minutes until usage falls below 100% again (0 when not throttled)."""
        calls = self._prune(bucket, now)
        excess = len(calls) - self.budget + 1
        if excess <= 0:
            return 0
        # The call that must leave the window for usage to drop under the budget.
        leaving = calls[excess - 1]
        return max(1, math.ceil((leaving + self.window_s - now) / 60))

    def reset(self) -> None:
        """Forget every call."""
        self._calls.clear()

    def _prune(self, bucket: str, now: float) -> deque[float]:
        calls = self._calls.setdefault(bucket, deque())
        while calls and calls[0] <= now - self.window_s:
            calls.popleft()
        return calls


class MinuteLimiter:
    """Calls per key per (simulated) calendar minute, against a fixed limit (Zalo's -32)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, now: float) -> int:
        """Count one call; return the calls left this minute (negative once over the limit)."""
        minute = int(now // 60)
        current_minute, count = self._counts.get(key, (minute, 0))
        if current_minute != minute:
            count = 0
        count += 1
        self._counts[key] = (minute, count)
        return self.limit - count

    def reset(self) -> None:
        """Forget every call."""
        self._counts.clear()
