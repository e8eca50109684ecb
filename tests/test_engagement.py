"""Reading engagement back: a publication's history of one metric, totals per channel and unit,
and the sparkline drawn from a history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import select

from content.db import session_scope
from content.engagement import Totals, channel_totals, metric_series, unit_totals
from content.models import Delivery, DeliveryState, MetricSample
from content.queue import PostInput
from content.ui.charts import resample, sparkline
from tests.helpers import local

T0 = datetime(2026, 11, 22, 12, tzinfo=UTC)


def publish(engine: Engine, make_queue, channels: list[str], when: str) -> dict[str, int]:
    """A post published on ``channels`` at ``when`` (office time): its delivery ids."""
    post = (
        make_queue("lan")
        .create(PostInput(title=f"Bài {when}", text=f"Bài {when}", channels=channels))
        .post
    )
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post.id)
            .values(state=DeliveryState.PUBLISHED, published_at=local(when))
        )
        rows = session.exec(select(Delivery).where(Delivery.post_id == post.id)).all()
        return {d.channel: d.id for d in rows}


def sample(engine: Engine, delivery_id: int, name: str, *values: float) -> None:
    """``values`` of ``name``, one an hour from T0."""
    with session_scope(engine) as session:
        for hour, value in enumerate(values):
            session.add(
                MetricSample(
                    delivery_id=delivery_id,
                    collected_at=T0 + timedelta(hours=hour),
                    name=name,
                    value=value,
                )
            )


def test_a_publications_history_is_read_oldest_first(engine, make_queue):
    ids = publish(engine, make_queue, ["tinh-fb", "xa-fb"], "2026-11-22 19:00")
    sample(engine, ids["tinh-fb"], "views", 10, 40, 90)
    sample(engine, ids["tinh-fb"], "reactions", 1, 2, 3)
    series = metric_series(engine, [ids["tinh-fb"], ids["xa-fb"]], "views")
    # Only the metric asked for; a publication without samples is absent.
    assert series == {
        ids["tinh-fb"]: [
            (T0, 10.0),
            (T0 + timedelta(hours=1), 40.0),
            (T0 + timedelta(hours=2), 90.0),
        ]
    }
    assert metric_series(engine, [], "views") == {}


def test_totals_add_the_newest_figures_per_channel_and_unit(engine, make_queue, directory):
    first = publish(engine, make_queue, ["tinh-fb", "xa-fb"], "2026-11-22 19:00")
    second = publish(engine, make_queue, ["tinh-fb", "tinh-zalo"], "2026-11-21 08:00")
    old = publish(engine, make_queue, ["tinh-fb"], "2026-09-01 08:00")
    sample(engine, first["tinh-fb"], "views", 10, 100)  # newest: 100, not 110
    sample(engine, first["xa-fb"], "views", 30)
    sample(engine, second["tinh-fb"], "views", 5)
    sample(engine, second["tinh-fb"], "reactions", 2)
    sample(engine, second["tinh-zalo"], "views", 7)
    sample(engine, old["tinh-fb"], "views", 1000)
    since = local("2026-10-24 00:00")
    by_channel = channel_totals(engine, since=since)
    assert by_channel == {
        "tinh-fb": Totals(2, {"views": 105.0, "reactions": 2.0}),
        "xa-fb": Totals(1, {"views": 30.0}),
        "tinh-zalo": Totals(1, {"views": 7.0}),
    }
    # The office's group "fb" is tinh-fb and xa-fb.
    assert unit_totals(by_channel, directory.groups) == {
        "fb": Totals(3, {"views": 135.0, "reactions": 2.0})
    }
    # An account that sees xa-fb only: its channel alone, and the unit narrowed to it.
    mine = channel_totals(engine, since=since, channels=["xa-fb"])
    assert mine == {"xa-fb": Totals(1, {"views": 30.0})}
    assert unit_totals(mine, directory.groups, channels=["xa-fb"]) == {
        "fb": Totals(1, {"views": 30.0})
    }
    assert unit_totals(mine, directory.groups, channels=["tinh-zalo"]) == {}
    # Without a start: everything published.
    assert channel_totals(engine)["tinh-fb"].publications == 3


def test_sparkline_follows_the_values_from_zero():
    assert sparkline([0, 20, 60, 140]) == "▁▂▄█"
    assert sparkline([5, 5]) == "██"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""


def test_resampling_keeps_time_not_point_count():
    # Dense samples early (every 15 minutes) and sparse later: the chart spans time.
    points = [(T0 + timedelta(minutes=15 * i), float(i)) for i in range(8)]
    points.append((T0 + timedelta(hours=20), 100.0))
    assert resample(points, 20) == [float(i) for i in range(8)] + [100.0]
    values = resample(points, 4)
    # 8 points in the first 2 hours fall in the first 5-hour span; then nothing new until
    # the last span.
    assert values == [7.0, 7.0, 7.0, 100.0]
    assert resample([], 5) == [] and resample(points, 0) == []
