"""Fault injection: what goes wrong on which channel, decided by a seeded per-channel RNG.

Each channel (page id, OA id) gets its own ``random.Random`` seeded from the sandbox seed and the
channel id, so the same seed and the same sequence of requests on a channel give the same faults,
whatever happens on the other channels.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

# Outcomes a fault decision can carry.
OK = "ok"
ERROR = "error"  # a 5xx answer
TIMEOUT = "timeout"  # hang past the client's read timeout
RESET = "reset"  # drop the connection mid-answer
RATE_LIMIT = "rate_limit"
REJECT = "reject"  # content refused (publish calls only)
ACCEPT_THEN_ERROR = "accept_then_error"  # object created, answer is a 5xx (publish calls only)
ACCEPT_THEN_TIMEOUT = "accept_then_timeout"  # object created, answer never comes
OUTCOMES = (OK, ERROR, TIMEOUT, RESET, RATE_LIMIT, REJECT, ACCEPT_THEN_ERROR, ACCEPT_THEN_TIMEOUT)
PUBLISH_ONLY_OUTCOMES = (REJECT, ACCEPT_THEN_ERROR, ACCEPT_THEN_TIMEOUT)

# How an accepted publish call fails to answer (FaultSpec.accept_then_fail_mode).
ACCEPT_THEN_FAIL_MODES = ("error", "timeout", "mixed")

# Persistent token problems; Graph answers 190 with the subcode, Zalo -220 or -216.
AUTH_FAULTS = ("expired", "password_changed", "app_removed", "logged_out", "invalid")


def parse_latency(value: Any) -> tuple[float, float]:
    """Latency bounds in ms from ``120``, ``"50-200"``, ``[50, 200]`` or ``None``."""
    if value is None or value == "":
        return (0.0, 0.0)
    if isinstance(value, int | float):
        return (float(value), float(value))
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    elif isinstance(value, str):
        parts = value.split("-")
        if len(parts) == 1:
            low = high = float(parts[0])
        elif len(parts) == 2:
            low, high = float(parts[0]), float(parts[1])
        else:
            raise ValueError(f"expected A-B in milliseconds, got {value!r}")
    else:
        raise ValueError(f"expected A-B in milliseconds, got {value!r}")
    if low < 0 or high < low:
        raise ValueError(f"expected 0 <= A <= B, got {value!r}")
    return (low, high)


@dataclass
class FaultSpec:
    """The faults injected on one channel.  Rates are fractions of requests (0..1).

    ``script`` forces the outcome of the next requests, in order, before any random draw
    (entries from :data:`OUTCOMES`); it is consumed as requests arrive.  ``auth`` is a
    persistent token problem.  ``publish_only`` limits random and scripted faults to publish
    calls (Graph feed/photos POST, Zalo article create/update and broadcast).
    """

    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    reset_rate: float = 0.0
    rate_limit_rate: float = 0.0
    reject_rate: float = 0.0
    accept_then_fail_rate: float = 0.0
    #: "error" (a 5xx after creating), "timeout" (no answer after creating) or "mixed": the
    #: first half of the accept-then-fail band answers a 5xx, the second half never answers.
    accept_then_fail_mode: str = "error"
    auth: str | None = None
    script: list[str] = field(default_factory=list)
    publish_only: bool = False
    #: Whether accept-then-fail also hits Zalo's token refresh. Zalo rotates the pair and the
    #: answer carrying the new one is lost: the grant is gone until an admin consents again.
    #: A run about publishing turns it off to keep that (separately tested) loss out.
    refresh_accept_then_fail: bool = True
    # Graph flavour of each fault.
    error_code: int = 2  # 1 (unknown) or 2 (service), both with HTTP 500
    rate_limit_code: int = 80001  # 4, 17, 32, 613 or 80001
    reject_code: int = 368  # 368 (subcode 1346003) or 506 (duplicate)
    regain_minutes: int = 5  # estimated_time_to_regain_access sent with rate-limit faults
    hang_s: float = 30.0  # how long a "timeout" holds the request if the client stays

    def __post_init__(self) -> None:
        self.latency_ms = parse_latency(self.latency_ms)
        for name in ("error_rate", "timeout_rate", "reset_rate", "rate_limit_rate"):
            _check_rate(name, getattr(self, name))
        _check_rate("reject_rate", self.reject_rate)
        _check_rate("accept_then_fail_rate", self.accept_then_fail_rate)
        bad = [s for s in self.script if s not in OUTCOMES]
        if bad:
            raise ValueError(f"script: unknown outcome(s) {bad}; known: {', '.join(OUTCOMES)}")
        if self.auth is not None and self.auth not in AUTH_FAULTS:
            raise ValueError(f"auth: expected one of {', '.join(AUTH_FAULTS)}, got {self.auth!r}")
        if self.accept_then_fail_mode not in ACCEPT_THEN_FAIL_MODES:
            expected = ", ".join(repr(m) for m in ACCEPT_THEN_FAIL_MODES)
            raise ValueError(f"accept_then_fail_mode: expected one of {expected}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultSpec:
        """Build from JSON; unknown keys are an error (a typo must not silently do nothing)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        data = dict(data)
        if "script" in data:
            data["script"] = list(data["script"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["latency_ms"] = list(self.latency_ms)
        return data


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}: expected a fraction between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request: an outcome, a delay, and the spec that produced it."""

    outcome: str
    latency_s: float
    spec: FaultSpec
    auth: str | None = None


class FaultBook:
    """Fault specs per channel plus one seeded RNG per channel."""

    def __init__(self, seed: int, specs: dict[str, FaultSpec] | None = None) -> None:
        self.seed = seed
        self._initial = {k: FaultSpec.from_dict(v.to_dict()) for k, v in (specs or {}).items()}
        self.specs: dict[str, FaultSpec] = {}
        self._rngs: dict[str, random.Random] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the start-up specs with fresh RNGs."""
        self.specs = {k: FaultSpec.from_dict(v.to_dict()) for k, v in self._initial.items()}
        self._rngs = {}

    def set(self, channel: str, spec: FaultSpec) -> None:
        """Replace a channel's spec (``"*"`` = default) and reseed the RNGs it governs.

        Reseeding makes "set faults, then send N requests" reproducible whatever came before.
        """
        self.specs[channel] = spec
        if channel == "*":
            self._rngs = {k: v for k, v in self._rngs.items() if k in self.specs}
        self._rngs.pop(channel, None)

    def clear(self, channel: str) -> None:
        """Remove a channel's own spec (it falls back to ``"*"``)."""
        self.specs.pop(channel, None)
        self._rngs.pop(channel, None)

    def spec_for(self, channel: str) -> FaultSpec | None:
        """The spec governing ``channel``, if any."""
        return self.specs.get(channel) or self.specs.get("*")

    def _rng(self, channel: str) -> random.Random:
        if channel not in self._rngs:
            # A string seed is hashed with SHA-512 by random.Random: stable across runs.
            self._rngs[channel] = random.Random(f"{self.seed}:{channel}")
        return self._rngs[channel]

    def decide(self, channel: str, *, is_publish: bool) -> FaultDecision | None:
        """Draw the fault for the next request on ``channel`` (None when no spec applies)."""
        spec = self.spec_for(channel)
        if spec is None:
            return None
        rng = self._rng(channel)
        # Always two draws per request so one decision never shifts the next one's numbers.
        roll = rng.random()
        low, high = spec.latency_ms
        latency_s = (low if high == low else low + (high - low) * rng.random()) / 1000.0
        if high == low:
            rng.random()
        applies = is_publish or not spec.publish_only
        outcome = OK
        if spec.script and applies:
            outcome = spec.script.pop(0)
            if outcome in PUBLISH_ONLY_OUTCOMES and not is_publish:
                outcome = OK
        elif applies:
            outcome = _outcome_from_roll(spec, roll, is_publish)
        return FaultDecision(outcome=outcome, latency_s=latency_s, spec=spec, auth=spec.auth)


def _outcome_from_roll(spec: FaultSpec, roll: float, is_publish: bool) -> str:
    bands = [
        (ERROR, spec.error_rate),
        (TIMEOUT, spec.timeout_rate),
        (RESET, spec.reset_rate),
        (RATE_LIMIT, spec.rate_limit_rate),
        (REJECT, spec.reject_rate),
    ]
    if spec.accept_then_fail_mode == "mixed":
        # Split the band rather than draw again: a decision always takes exactly two draws.
        half = spec.accept_then_fail_rate / 2
        bands += [(ACCEPT_THEN_ERROR, half), (ACCEPT_THEN_TIMEOUT, half)]
    elif spec.accept_then_fail_mode == "timeout":
        bands.append((ACCEPT_THEN_TIMEOUT, spec.accept_then_fail_rate))
    else:
        bands.append((ACCEPT_THEN_ERROR, spec.accept_then_fail_rate))
    edge = 0.0
    for outcome, rate in bands:
        edge += rate
        if roll < edge:
            if outcome in PUBLISH_ONLY_OUTCOMES and not is_publish:
                return OK
            return outcome
    return OK
