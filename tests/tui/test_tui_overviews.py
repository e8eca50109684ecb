"""The week view, the channels screen and the engagement screen."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from textual.widgets import DataTable, Select, Static

from content.db import session_scope
from content.models import ChannelState, Delivery, DeliveryState, MetricSample
from content.queue import PostInput
from content.ui.calendar import CalendarScreen
from content.ui.channels import ChannelsScreen
from content.ui.detail import DetailScreen
from content.ui.queue_screen import QueueScreen
from tests.helpers import local
from tests.tui.conftest import SIZE, settle, table_rows
from tests.tui.pilot import open_engagement, open_week, press, search_palette, wait_for
from tui import LoaApp


async def test_week_view_places_posts_on_their_day(make_app, make_queue):
    queue = make_queue("lan")
    monday = queue.create(
        PostInput(text="Thứ hai", channels=["tinh-fb"], at=local("2026-11-23 09:00"))
    )
    queue.create(PostInput(text="Thứ tư", channels=["tinh-fb"], at=local("2026-11-25 20:30")))
    queue.create(PostInput(text="Tuần sau", channels=["tinh-fb"], at=local("2026-12-01 07:00")))
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_week(pilot)
        table = app.screen.query_one("#week", DataTable)
        assert [str(c.label) for c in table.columns.values()][:3] == [
            "Mon 23/11",
            "Tue 24/11",
            "Wed 25/11",
        ]
        assert table_rows(pilot, "#week") == [["09:00 Thứ hai", "", "20:30 Thứ tư", "", "", "", ""]]
        await press(pilot, "enter")
        assert isinstance(app.screen, DetailScreen) and app.screen.post_id == monday.post.id
        await pilot.press("escape")
        await press(pilot, "right_square_bracket")
        assert table_rows(pilot, "#week") == [["", "07:00 Tuần sau", "", "", "", "", ""]]


async def test_channels_screen_shows_health_and_resumes(engine, directory, clock, make_queue):
    post = make_queue("lan").create(PostInput(text="Bài", channels=["tinh-fb", "xa-fb"])).post
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post.id, Delivery.channel == "xa-fb")
            .values(state=DeliveryState.FAILED)
        )
        session.add(
            ChannelState(
                channel="tinh-fb", paused=True, paused_reason="token expired", updated_at=clock()
            )
        )
    resumed: list[str] = []

    def resume(channel: str) -> bool:
        resumed.append(channel)
        with session_scope(engine) as session:
            state = session.get(ChannelState, channel)
            state.paused = False
            session.add(state)
        return True

    app = LoaApp(
        engine,
        directory,
        actor="lan",
        clock=clock,
        lang="en",
        refresh_seconds=3600,
        resume_channel=resume,
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        assert isinstance(app.screen, ChannelsScreen)
        rows = table_rows(pilot, "#channels")
        assert [r[0] for r in rows] == ["tinh-fb", "tinh-zalo", "xa-fb"]
        assert rows[0][3:8] == ["1", "0", "0", "0", "⏸ paused"]
        assert rows[2][3:5] == ["0", "1"]
        assert "token expired" in str(app.screen.query_one("#channel-note", Static).render())
        await press(pilot, "u")
        assert resumed == ["tinh-fb"]
        assert table_rows(pilot, "#channels")[0][7] == "✓ working"
        await press(pilot, "down", "down", "enter")
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#channel", Select).value == "xa-fb"
        assert [r[0] for r in table_rows(pilot)] == [str(post.id)]


async def test_engagement_shows_the_newest_figures(make_app, make_queue, engine):
    post = make_queue("lan").create(PostInput(text="Đã đăng", channels=["tinh-fb"])).post
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post.id)
            .values(state=DeliveryState.PUBLISHED, published_at=local("2026-11-22 19:00"))
        )
        delivery_id = session.exec(
            Delivery.__table__.select().where(Delivery.post_id == post.id)
        ).first()[0]
        for hour, views in ((1, 10), (5, 250)):
            at = datetime(2026, 11, 22, 12 + hour, tzinfo=UTC)
            session.add(
                MetricSample(delivery_id=delivery_id, collected_at=at, name="views", value=views)
            )
        session.add(
            MetricSample(
                delivery_id=delivery_id,
                collected_at=datetime(2026, 11, 22, 17, tzinfo=UTC),
                name="reactions",
                value=12,
            )
        )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_engagement(pilot)
        # The chart of the chosen figure (views: 10, then 250) beside its newest value.
        assert table_rows(pilot, "#engagement") == [
            [str(post.id), "2026-11-22 19:00", "tinh-fb", "Đã đăng", "▁█", "250", "12"]
        ]


async def test_command_palette_opens_screens_by_name(make_app):
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        found = await search_palette(pilot, "Lịch tuần")

        def chosen() -> str:
            option = found.highlighted_option
            return str(option.prompt) if option is not None else ""

        await wait_for(pilot, lambda: "Lịch tuần" in chosen(), "the palette's match")
        await press(pilot, "enter")
        assert isinstance(app.screen, CalendarScreen)
        assert app.screen.title == "Lịch tuần"


async def test_command_palette_says_it_found_nothing_in_vietnamese(make_app):
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        shown = await search_palette(pilot, "xyzxyz")

        def texts() -> list[str]:
            return [str(shown.get_option_at_index(i).prompt) for i in range(shown.option_count)]

        # The palette waits half a second before saying it found nothing.
        said = "Không tìm thấy lệnh nào"
        await wait_for(pilot, lambda: any(said in t for t in texts()), f"{said!r} in the palette")
        assert not any("No matches" in t for t in texts())
