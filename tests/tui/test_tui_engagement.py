"""The engagement screen: a chart per publication, the metric switched by key, totals; with
a unit tree in channels.toml, the totals and the channels screen go unit by unit, with the
followers the daemon counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import select
from textual.widgets import DataTable, Static

from content.db import session_scope
from content.engagement import record_followers
from content.models import Delivery, DeliveryState, MetricSample
from content.office import ChannelDirectory
from content.queue import PostInput
from content.ui.channels import ChannelsScreen, unit_label
from content.ui.engagement import EngagementScreen
from content.units import UnitInfo, build_tree
from tests.helpers import local
from tests.tui.conftest import settle, table_rows
from tests.tui.snapshot import assert_snapshot, screen_text
from tui import LoaApp

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
        await assert_snapshot(pilot, f"engagement_charts_{lang}_{size[0]}x{size[1]}")


# ---------------------------------------------------------------------- by unit


@pytest.fixture
def units_app(engine, directory: ChannelDirectory, clock):
    """``units_app(lang)``: the app on the office with a unit tree: the province (tinh-fb,
    tinh-zalo) and a commune under it (xa-fb)."""
    tree = build_tree(
        [
            UnitInfo("tinh", "Công an tỉnh Demo", None, ("tinh-fb", "tinh-zalo")),
            UnitInfo("xa", "Công an xã Hòa An", "tinh", ("xa-fb",)),
        ],
        directory.channels,
    )
    with_units = replace(directory, units=tree)

    def make(lang: str = "en") -> LoaApp:
        return LoaApp(engine, with_units, actor="lan", clock=clock, lang=lang, refresh_seconds=3600)

    return make


async def test_totals_go_unit_by_unit_with_their_followers(units_app, figures, engine, clock):
    record_followers(engine, {"tinh-fb": 12500, "tinh-zalo": 4100, "xa-fb": 830}, clock())
    # A newer count of the commune's Page: the newest is shown.
    record_followers(engine, {"xa-fb": 845}, clock() + timedelta(hours=1))
    clock.advance(hours=2)
    app = units_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, EngagementScreen)
        # The tree, each unit under its parent; the province counts the commune's posts too.
        assert table_rows(pilot, "#totals-unit") == [
            ["Công an tỉnh Demo", "3", "224", "17,445"],
            [" Công an xã Hòa An", "1", "70", "845"],
        ]
        assert table_rows(pilot, "#totals-channel") == [
            ["tinh-fb", "1", "140", "12,500"],
            ["tinh-zalo", "1", "14", "4,100"],
            ["xa-fb", "1", "70", "845"],
        ]


async def test_a_unit_whose_channel_was_never_counted_shows_no_total(units_app, figures, engine):
    record_followers(
        engine, {"tinh-fb": 12500, "tinh-zalo": 4100}, datetime(2026, 11, 23, tzinfo=UTC)
    )
    app = units_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        # The province's total would leave out the commune's Page: not a figure to report.
        assert table_rows(pilot, "#totals-unit") == [
            ["Công an tỉnh Demo", "3", "224", "-"],
            [" Công an xã Hòa An", "1", "70", "-"],
        ]
        assert table_rows(pilot, "#totals-channel")[2] == ["xa-fb", "1", "70", "-"]


async def test_the_channels_screen_lists_channels_unit_by_unit(units_app, figures, engine, clock):
    record_followers(engine, {"tinh-fb": 12500, "tinh-zalo": 4100, "xa-fb": 830}, clock())
    app = units_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ChannelsScreen)
        table = app.screen.query_one("#channels", DataTable)
        keys = [str(k.value) for k in table.columns]
        assert keys[:2] == ["unit", "channel"]
        rows = table_rows(pilot, "#channels")
        assert [(r[0], r[1], r[keys.index("followers")]) for r in rows] == [
            ("Công an tỉnh Demo", "tinh-fb", "12,500"),
            ("", "tinh-zalo", "4,100"),
            (" Công an xã Hòa An", "xa-fb", "830"),
        ]
        # Enter still opens the queue on the channel under the cursor.
        await pilot.press("down", "down")
        assert app.screen.current_channel() == "xa-fb"


@pytest.mark.parametrize("lang", ["en", "vi"])
async def test_snapshot_units_at_80x24(units_app, figures, engine, clock, lang):
    record_followers(engine, {"tinh-fb": 12500, "tinh-zalo": 4100, "xa-fb": 830}, clock())
    app = units_app(lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await assert_snapshot(pilot, f"engagement_units_{lang}_80x24")
        await pilot.press("escape", "c")
        await settle(pilot)
        await assert_snapshot(pilot, f"channels_units_{lang}_80x24")


async def test_figures_collected_while_a_post_is_open_show_on_coming_back(
    make_app, figures, engine
):
    fb, _zalo = figures
    app = make_app("lan")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EngagementScreen)
        await pilot.press("enter")  # the newest publication's post
        await settle(pilot)
        assert app.screen is not screen
        # The daemon collects a new figure meanwhile (the next timed read is an hour away).
        sample(engine, fb["tinh-fb"], "views", 0, 20, 60, 140, 400)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert ["tinh-fb", "1", "400"] in table_rows(pilot, "#totals-channel")


async def test_followers_counted_while_help_is_open_show_on_coming_back(
    units_app, figures, engine, clock
):
    app = units_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ChannelsScreen)
        table = screen.query_one("#channels", DataTable)
        assert "followers" not in [str(k.value) for k in table.columns]  # never counted yet
        await pilot.press("f1")
        await settle(pilot)
        assert app.screen is not screen
        record_followers(engine, {"tinh-fb": 12500, "tinh-zalo": 4100, "xa-fb": 830}, clock())
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        keys = [str(k.value) for k in table.columns]
        rows = table_rows(pilot, "#channels")
        assert [(r[1], r[keys.index("followers")]) for r in rows] == [
            ("tinh-fb", "12,500"),
            ("tinh-zalo", "4,100"),
            ("xa-fb", "830"),
        ]


def test_a_unit_name_too_long_for_its_column_keeps_its_end():
    # Units share their first words: cut there, the communes are still told apart.
    assert unit_label("Công an xã Hòa An", 2) == "  …an xã Hòa An"
    assert unit_label("Công an xã Tân Phú", 2) == "  …an xã Tân Phú"
    # A name that fits is left whole.
    assert unit_label("Công an xã Hòa An", 1) == " Công an xã Hòa An"


async def test_scrolled_to_the_followers_the_unit_and_channel_stay_in_view(
    units_app, figures, engine, clock
):
    record_followers(engine, {"tinh-fb": 12500, "tinh-zalo": 4100, "xa-fb": 830}, clock())
    app = units_app("vi")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert "Người theo dõi" not in screen_text(app)  # beyond 80 columns at first
        await pilot.press("end")  # as far right as the table goes
        await settle(pilot)
        lines = screen_text(app).splitlines()
    assert any("Người theo dõi" in line and "Đơn vị" in line for line in lines)
    row = next(line for line in lines if "xa-fb" in line)
    assert "Hòa An" in row and row.rstrip().endswith("830  -")
