"""Deterministic engagement that grows with simulated time.

Every figure is ``floor(final * growth(elapsed))`` where ``final`` comes from a hash of
(seed, object id, figure name) and ``growth`` rises from 0 towards 1; so each figure is
monotonic non-decreasing in time, and the same seed gives the same numbers.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

REACTION_TYPES = ("LIKE", "LOVE", "WOW", "HAHA", "SAD", "ANGRY", "CARE")
# Typical share of each reaction type on an awareness post (weights, not exact).
_REACTION_WEIGHTS = {
    "LIKE": 0.62,
    "LOVE": 0.2,
    "CARE": 0.07,
    "WOW": 0.05,
    "HAHA": 0.03,
    "SAD": 0.02,
    "ANGRY": 0.01,
}
# Half of the final figures are reached after about 4 simulated hours.
GROWTH_TIME_CONSTANT_S = 6 * 3600


def unit(seed: int | str, object_id: str, name: str) -> float:
    """A stable pseudo-random number in [0, 1) for (seed, object, figure)."""
    digest = hashlib.sha256(f"{seed}:{object_id}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def growth(elapsed_s: float) -> float:
    """Fraction of the final figures reached ``elapsed_s`` seconds after publication."""
    if elapsed_s <= 0:
        return 0.0
    return 1.0 - math.exp(-elapsed_s / GROWTH_TIME_CONSTANT_S)


@dataclass(frozen=True)
class Engagement:
    """Figures of one published object at one instant."""

    views: int
    unique_views: int
    reactions: dict[str, int]
    comments: int
    shares: int
    clicks: int

    @property
    def reactions_total(self) -> int:
        """All reactions, every type."""
        return sum(self.reactions.values())


def engagement(seed: int | str, object_id: str, elapsed_s: float) -> Engagement:
    """The figures of ``object_id`` ``elapsed_s`` simulated seconds after it was published."""
    g = growth(elapsed_s)
    final_views = 300 + unit(seed, object_id, "views") * 4700
    reaction_rate = 0.02 + unit(seed, object_id, "reactions") * 0.06

    def grown(final: float) -> int:
        return math.floor(final * g)

    reactions = {
        kind: grown(final_views * reaction_rate * weight * (0.5 + unit(seed, object_id, kind)))
        for kind, weight in _REACTION_WEIGHTS.items()
    }
    return Engagement(
        views=grown(final_views),
        unique_views=grown(final_views * (0.55 + unit(seed, object_id, "unique") * 0.3)),
        reactions=reactions,
        comments=grown(final_views * (0.002 + unit(seed, object_id, "comments") * 0.015)),
        # Some posts are never shared: Graph then omits "shares" altogether.
        shares=grown(final_views * max(0.0, unit(seed, object_id, "shares") * 0.012 - 0.002)),
        clicks=grown(final_views * (0.01 + unit(seed, object_id, "clicks") * 0.04)),
    )
