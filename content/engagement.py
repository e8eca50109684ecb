"""Reading engagement back: the newest value of each metric per delivery.

Shared by the TUI, the reports and the CLI; the collector that writes the samples is
:mod:`scheduler.metrics`.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, func
from sqlmodel import col, select

from content.db import session_scope
from content.models import MetricSample


def latest_metrics(engine: Engine, delivery_ids: list[int]) -> dict[int, dict[str, float]]:
    """The newest value of each metric per delivery (for the TUI and reports)."""
    if not delivery_ids:
        return {}
    with session_scope(engine, write=False) as session:
        newest = (
            select(
                MetricSample.delivery_id,
                MetricSample.name,
                func.max(MetricSample.collected_at).label("at"),
            )
            .where(col(MetricSample.delivery_id).in_(delivery_ids))
            .group_by(col(MetricSample.delivery_id), col(MetricSample.name))
            .subquery()
        )
        rows = session.exec(
            select(MetricSample.delivery_id, MetricSample.name, MetricSample.value).join(
                newest,
                (newest.c.delivery_id == MetricSample.delivery_id)
                & (newest.c.name == MetricSample.name)
                & (newest.c.at == MetricSample.collected_at),
            )
        ).all()
    result: dict[int, dict[str, float]] = defaultdict(dict)
    for delivery_id, name, value in rows:
        result[delivery_id][name] = value
    return dict(result)
