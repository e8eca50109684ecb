"""Graph rate-limit headers read on every answer, and the pacing they call for.

Graph reports usage as integer percentages of the budget in three headers
(docs/platforms/facebook-graph.md#rate-limit-headers):
``X-App-Usage`` (platform), ``X-Business-Use-Case-Usage`` (Pages BUC, keyed by Page id, with
``estimated_time_to_regain_access`` in minutes) and the older ``X-Page-Usage``. Absent headers
mean "low usage", not "unlimited". Loa slows down from 75%, stops calling from 95%, and when
Graph throttles it waits the time Graph names (one hour when it names none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

#: From this usage (percent) each call is preceded by a growing pause.
SLOW_FROM = 75
#: From this usage no call is made until the pause is over.
PAUSE_FROM = 95
#: The pause before a call just under :data:`PAUSE_FROM` (grows linearly from 1 s at 75%).
MAX_SLOW_DELAY = 30.0
#: How long to stop calling above 95% when Graph gives no time to regain access.
PAUSE_WITHOUT_ESTIMATE = 10 * 60.0
#: Wait after a throttle error when ``estimated_time_to_regain_access`` is 0 or absent.
BLOCKED_WITHOUT_ESTIMATE = 3600.0

USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-page-usage")


@dataclass(frozen=True)
class Usage:
    """The highest usage figure in one answer's headers, and Graph's own wait if any."""

    percent: int
    regain_minutes: int | None = None


def read_usage(headers: Mapping[str, str]) -> Usage | None:
    """Parse the usage headers of one answer; None when none is present (or all are junk)."""
    figures: list[int] = []
    regain: list[int] = []
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for entry in _entries(name, data):
            figures.extend(_numbers(entry, ("call_count", "total_cputime", "total_time")))
            regain.extend(_numbers(entry, ("estimated_time_to_regain_access",)))
    if not figures and not regain:
        return None
    return Usage(percent=max(figures, default=0), regain_minutes=max(regain) if regain else None)


def _entries(name: str, data: Any) -> list[Mapping[str, Any]]:
    if name == "x-business-use-case-usage" and isinstance(data, dict):
        # {"<page_id>": [{"type": "pages", ...}, ...], ...}
        return [
            e
            for group in data.values()
            if isinstance(group, list)
            for e in group
            if isinstance(e, dict)
        ]
    return [data] if isinstance(data, dict) else []


def _numbers(entry: Mapping[str, Any], keys: tuple[str, ...]) -> list[int]:
    out = []
    for key in keys:
        value = entry.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append(int(value))
    return out


class GraphPacer:
    """Decides, before each call, whether to go, wait a little, or not call at all."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.percent = 0
        self.regain_minutes: int | None = None
        #: No call before this instant (set by a throttle answer or by usage above 95%).
        self.resume_at: datetime | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the usage figures of an answer into account."""
        usage = read_usage(headers)
        if usage is None:
            # Graph omits the headers while usage is near 0%.
            self.percent, self.regain_minutes = 0, None
            return
        self.percent, self.regain_minutes = usage.percent, usage.regain_minutes
        if usage.percent >= PAUSE_FROM:
            self._resume_in(self._wait(usage.regain_minutes, PAUSE_WITHOUT_ESTIMATE))

    def throttled(self, retry_after_header: str | None = None) -> float:
        """Graph refused a call for rate: block calls for its estimate; return the seconds."""
        wait = self._wait(self.regain_minutes, BLOCKED_WITHOUT_ESTIMATE)
        if retry_after_header and retry_after_header.strip().isdigit():
            wait = max(wait, float(retry_after_header))
        self._resume_in(wait)
        return wait

    def blocked_for(self) -> float:
        """Seconds until calls may resume (0 when they may be made now)."""
        if self.resume_at is None:
            return 0.0
        left = (self.resume_at - self._clock()).total_seconds()
        if left <= 0:
            # The pause is over: let one call through to read fresh usage figures.
            self.resume_at, self.percent = None, 0
            return 0.0
        return left

    def delay(self) -> float:
        """Seconds to pause before the next call because usage is high (0 below 75%)."""
        if self.percent < SLOW_FROM:
            return 0.0
        share = (min(self.percent, PAUSE_FROM) - SLOW_FROM) / (PAUSE_FROM - SLOW_FROM)
        return 1.0 + share * (MAX_SLOW_DELAY - 1.0)

    @property
    def headroom(self) -> float:
        """Fraction of the budget still free, as last reported."""
        return max(0.0, 1.0 - self.percent / 100)

    def _wait(self, regain_minutes: int | None, default: float) -> float:
        return regain_minutes * 60.0 if regain_minutes else default

    def _resume_in(self, seconds: float) -> None:
        until = self._clock() + timedelta(seconds=seconds)
        if self.resume_at is None or until > self.resume_at:
            self.resume_at = until
