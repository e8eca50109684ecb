"""The sandbox's simulated clock: real time by default, settable and advanceable at run time.

Everything time-based (scheduled posts, token expiry, the Zalo night ban, engagement growth,
rate-limit windows) reads this clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any


class SimClock:
    """Simulated time = a base instant plus, unless frozen, the real time elapsed since."""

    def __init__(self) -> None:
        self._base_sim = time.time()
        self._base_real = time.monotonic()
        self.frozen = False

    def now(self) -> float:
        """Simulated UNIX time in seconds."""
        if self.frozen:
            return self._base_sim
        return self._base_sim + (time.monotonic() - self._base_real)

    def now_dt(self) -> datetime:
        """Simulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def set(self, when: float, *, frozen: bool | None = None) -> None:
        """Jump to ``when`` (UNIX seconds); ``frozen`` stops (or restarts) the clock there."""
        if frozen is not None:
            self.frozen = frozen
        self._base_sim = when
        self._base_real = time.monotonic()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.set(self.now() + seconds)

    def reset(self) -> None:
        """Back to real time, running."""
        self.set(time.time(), frozen=False)

    def describe(self) -> dict[str, Any]:
        """JSON view for the control API."""
        now = self.now()
        return {"now": iso_utc(now), "epoch": now, "frozen": self.frozen}


def iso_utc(epoch: float) -> str:
    """``2026-11-23T05:46:00+00:00``-style UTC text for the control API."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def parse_instant(value: Any) -> float:
    """UNIX seconds from a number, a numeric string or an ISO 8601 text (naive = UTC)."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
