"""The engagement screen: a chart per publication, the metric switched by key, totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import select
from textual.widgets import DataTable, Static

from content.db import session_scope
from content.models import Delivery, DeliveryState, MetricSample
from content.queue import PostInput
from content.ui.engagement import EngagementScreen
from tests.helpers import local
from tests.tui.conftest import settle, table_rows
from tests.tui.snapshot import assert_snapshot

T0 = datetime(2026, 11, 22, 12, tzinfo=UTC)


def publish(engine: Engine, make_queue, text: str, channels: list[str], when: str) -> dict:
    post = make_queue("lan").create(PostInput(title=text, text=text, channels=channels)).post
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post.id)
            .values(state=DeliveryState.PUBLISHED, published_at=local(when))
        )
        return {
            d.channel: d.id
            for d in session.exec(select(Delivery).where(Delivery.post_id == post.id)).all()
        }


def sample(engine: Engine, delivery_id: int, name: str, *values: float) -> None:
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


@pytest.fixture
def figures(engine, make_queue):
    """Two posts: one on tinh-fb and xa-fb (the "fb" unit), one on tinh-zalo."""
    fb = publish(engine, make_queue, "Cảnh báo lừa đảo", ["tinh-fb", "xa-fb"], "2026-11-22 19:00")
    zalo = publish(engine, make_queue, "Đường dây nóng", ["tinh-zalo"], "2026-11-21 08:00")
    sample(engine, fb["tinh-fb"], "views", 0, 20, 60, 140)
    sample(engine, fb["tinh-fb"], "reactions", 1, 3)
    sample(engine, fb["xa-fb"], "views", 10, 10, 70)
    sample(engine, zalo["tinh-zalo"], "views", 2, 14)
    return fb, zalo


async def test_a_chart_per_publication_follows_its_samples(make_app, figures):
    app = make_app("lan")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, EngagementScreen)
        table = app.screen.query_one("#engagement", DataTable)
        keys = [str(k.value) for k in table.columns]
        rows = {(r[keys.index("channel")]): r for r in table_rows(pilot, "#engagement")}
        # Views drawn from zero to each publication's own highest value.
        assert rows["tinh-fb"][keys.index("trend")] == "▁▂▄█"
        assert rows["tinh-fb"][keys.index("value")] == "140"
        assert rows["xa-fb"][keys.index("trend")] == "▂▂█"
        assert rows["tinh-zalo"][keys.index("trend")] == "▂█"
        bar = str(app.screen.query_one("#metric-bar", Static).content)
        assert bar.startswith("Figure: Views (1 of 2)")
        # M charts the next figure: reactions, which only tinh-fb reported.
        await pilot.press("m")
        await settle(pilot)
        assert app.screen.metric == "reactions"
        rows = {(r[keys.index("channel")]): r for r in table_rows(pilot, "#engagement")}
        assert rows["tinh-fb"][keys.index("trend")] == "▃█"
        assert rows["tinh-fb"][keys.index("value")] == "3"
        assert rows["xa-fb"][keys.index("trend")] == "-"


async def test_totals_per_channel_and_per_unit(make_app, figures, engine, make_queue):
    # Published two months ago: outside the totals of the last 30 days.
    old = publish(engine, make_queue, "Cũ", ["tinh-fb"], "2026-09-01 08:00")
    sample(engine, old["tinh-fb"], "views", 5000)
    app = make_app("lan")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert table_rows(pilot, "#totals-channel") == [
            ["tinh-fb", "1", "140"],
            ["tinh-zalo", "1", "14"],
            ["xa-fb", "1", "70"],
        ]
        # The unit "fb" (channels.toml group) is tinh-fb and xa-fb.
        assert table_rows(pilot, "#totals-unit") == [["fb", "2", "210"]]
        await pilot.press("m")
        await settle(pilot)
        assert table_rows(pilot, "#totals-unit") == [["fb", "2", "3"]]


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_snapshot_engagement_charts(make_app, figures, lang, size):
    app = make_app("lan", lang=lang)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert_snapshot(app, f"engagement_charts_{lang}_{size[0]}x{size[1]}")
