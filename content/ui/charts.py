"""Charts drawn with text: a sparkline fits in a table cell at any terminal width."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

#: Eight heights, lowest first (one cell each, in every terminal font Loa supports).
BARS = "▁▂▃▄▅▆▇█"


def resample(points: Sequence[tuple[datetime, float]], width: int) -> list[float]:
    """At most ``width`` values that follow ``points`` (oldest first) along time.

    With no more points than cells, each point is one value. With more, the time from the
    first to the last point is cut into ``width`` equal spans and each span shows the last
    value reported by its end: the collector samples a new post every 15 minutes and an old
    one daily, so taking every n-th point would squeeze a post's first day into one cell.
    """
    if width <= 0 or not points:
        return []
    if len(points) <= width:
        return [value for _at, value in points]
    first, last = points[0][0], points[-1][0]
    span = (last - first) / width
    values: list[float] = []
    index = 0
    current = points[0][1]
    for cell in range(1, width + 1):
        end = last if cell == width else first + span * cell
        while index < len(points) and points[index][0] <= end:
            current = points[index][1]
            index += 1
        values.append(current)
    return values


def sparkline(values: Sequence[float]) -> str:
    """One bar per value, from zero (or the lowest value, when below zero) to the highest.

    Counts (views, reactions) are drawn from zero, so a post that gained little looks low
    rather than being stretched to fill the cell.
    """
    if not values:
        return ""
    low = min(0.0, *values)
    high = max(values)
    if high <= low:
        return BARS[0] * len(values)
    top = len(BARS) - 1
    return "".join(BARS[round((v - low) / (high - low) * top)] for v in values)
