"""Expected figures recomputed from the fixture's plain data, without the code under test."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from tests.reports.conftest import POSTS, PUBLICATIONS

NAMES = ("views", "reach", "reactions", "comments", "shares", "clicks")


def expected_rows(start: datetime, end: datetime) -> list[dict]:
    """Plain Python over the fixture: publications in [start, end), latest sample before end."""
    rows = []
    for pub in PUBLICATIONS:
        if not start <= pub.published < end:
            continue
        latest: dict[str, tuple[datetime, float]] = {}
        for at, name, value in pub.samples:
            if at < end and (name not in latest or at >= latest[name][0]):
                latest[name] = (at, value)
        figures = {n: latest[n][1] if n in latest else 0.0 for n in NAMES}
        figures["engagement"] = figures["reactions"] + figures["comments"] + figures["shares"]
        rows.append({"pub": pub, "campaign": POSTS[pub.post].campaign, **figures})
    return rows


def expected_sums(rows: list[dict], key) -> dict:
    sums: dict = defaultdict(lambda: defaultdict(float))
    for row in rows:
        for k in key(row):
            sums[k]["posts"] += 1
            for n in (*NAMES, "engagement"):
                sums[k][n] += row[n]
    return {k: dict(v) for k, v in sums.items()}


def actual(totals) -> dict:
    return {"posts": totals.publications, **totals.sums, "engagement": totals.engagement}
