"""The health bar under every header and the late state in the queue, on a fake clock.

A post due 08:00 with no daemon running must not read "scheduled" at 08:10: the bar says
in Vietnamese that publishing is not running and how many deliveries are late, and the
row says "trễ". The app re-reads health on a timer; the tests call that read themselves.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from textual.widgets import Header, Select

from content.db import session_scope
from content.models import DaemonHeartbeat, Delivery, DeliveryState, Post, PostState
from content.ui.banner import HealthBanner
from content.ui.queue_screen import QueueScreen
from tests.helpers import approved_post
from tests.tui.conftest import SIZE, settle, table_rows
from tests.tui.pilot import open_week, press


def _approved(make_queue, clock, *, channels=("tinh-fb", "tinh-zalo"), minutes=0) -> int:
    """An approved post due ``minutes`` from the clock's now (lan writes, minh approves)."""
    return approved_post(
        make_queue,
        clock,
        channels=channels,
        minutes=minutes,
        text="Không chuyển tiền cho người lạ.",
        title="Cảnh giác lừa đảo",
        author="lan",
        approver="minh",
    )


def _beat(engine, clock, ago: timedelta = timedelta(0)) -> None:
    with session_scope(engine) as session:
        session.merge(
            DaemonHeartbeat(
                worker="server:1",
                started_at=clock.now - timedelta(hours=2),
                seen_at=clock.now - ago,
            )
        )


def _banner(app) -> HealthBanner:
    return app.screen.query_one(HealthBanner)


def _banner_text(app) -> str | None:
    """What the bar says, or None when it is hidden."""
    banner = _banner(app)
    return str(banner.content) if banner.has_class("-shown") and banner.display else None


async def _recheck(pilot) -> None:
    """What the app's timer does every few seconds: read health, re-read the queue."""
    pilot.app._count_attention()
    if isinstance(pilot.app.screen, QueueScreen):
        pilot.app.screen.reload()
    await settle(pilot)


async def test_a_late_post_without_a_daemon_shows_the_bar_in_vietnamese(
    make_app, make_queue, engine, clock
):
    post_id = _approved(make_queue, clock)
    later = _approved(make_queue, clock, channels=("xa-fb",), minutes=60)
    clock.advance(minutes=10)
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = _banner_text(app)
        assert text == ("⚠ Hệ thống đăng bài không chạy: báo quản trị · 1 bài trễ giờ (phím L)")
        assert not _banner(app).has_class("-warning")  # red: posts are not going out
        # The row says late, not "scheduled"; the one due later still says scheduled.
        states = {row[0]: row[2] for row in table_rows(pilot)}
        assert states[str(post_id)] == "trễ"
        assert states[str(later)] == "đã hẹn giờ"
        assert "mọi thứ ổn" not in app.screen.sub_title

        # A daemon comes back: the bar still says the post is late, not that none runs.
        _beat(engine, clock)
        await _recheck(pilot)
        assert _banner_text(app) == "⚠ 1 bài trễ giờ (phím L)"

        # It publishes the post: nothing is wrong, the bar goes and the header says so.
        with session_scope(engine) as session:
            session.execute(
                update(Delivery)
                .where(Delivery.post_id == post_id)
                .values(state=DeliveryState.PUBLISHED, next_attempt_at=None)
            )
            session.execute(update(Post).where(Post.id == post_id).values(state=PostState.DONE))
        await _recheck(pilot)
        assert _banner_text(app) is None
        assert app.screen.sub_title.endswith("✓ mọi thứ ổn")
        states = {row[0]: row[2] for row in table_rows(pilot)}
        assert states[str(post_id)] == "hoàn tất"


async def test_a_silent_daemon_is_named_with_its_last_beat_on_every_screen(
    make_app, make_queue, engine, clock
):
    _approved(make_queue, clock, minutes=30)
    _beat(engine, clock, ago=timedelta(minutes=2))  # last seen 07:58 office time
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = "⚠ Hệ thống đăng bài ngừng lúc 07:58: báo quản trị"
        assert _banner_text(app) == expected
        await open_week(pilot)
        assert _banner_text(app) == expected
        # Right under the header: the first line below it.
        assert _banner(app).region.y == app.screen.query_one(Header).region.bottom


async def test_the_bar_counts_failed_and_to_check_and_l_lists_the_late_posts(
    make_app, make_queue, engine, clock
):
    failing = _approved(make_queue, clock)
    late = _approved(make_queue, clock, channels=("xa-fb",))
    _approved(make_queue, clock, channels=("xa-fb",), minutes=90)
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == failing, Delivery.channel == "tinh-fb")
            .values(state=DeliveryState.FAILED, next_attempt_at=None)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == failing, Delivery.channel == "tinh-zalo")
            .values(state=DeliveryState.NEEDS_REVIEW, next_attempt_at=None)
        )
    clock.advance(minutes=5)
    _beat(engine, clock)
    app = make_app("lan", lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert _banner_text(app) == "⚠ 1 post late (key L) · 1 failed, 1 to check (key !)"
        assert len(table_rows(pilot)) == 3
        # From another screen, L goes back to the queue and lists only the late post.
        await open_week(pilot)
        await press(pilot, "l")
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#state", Select).value == "late"
        rows = table_rows(pilot)
        assert [(r[0], r[2]) for r in rows] == [(str(late), "late")]
        # The failing post's time has passed too, but nothing of it waits: not late, and
        # not "scheduled" either (it will not go out by itself): it needs attention.
        await press(pilot, "escape")
        states = {r[0]: r[2] for r in table_rows(pilot)}
        assert (states[str(failing)], states[str(late)]) == ("needs attention", "late")
        assert len(states) == 3


async def test_a_post_turns_late_in_its_row_as_the_clock_passes_its_time(
    make_app, make_queue, engine, clock
):
    post_id = _approved(make_queue, clock, minutes=2)
    _beat(engine, clock)
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table_rows(pilot)[0][2] == "đã hẹn giờ"
        assert _banner_text(app) is None
        clock.advance(minutes=3)
        _beat(engine, clock)
        await _recheck(pilot)
        # Same row in the database, but the time has passed: the cell is updated in place.
        assert [r[2] for r in table_rows(pilot) if r[0] == str(post_id)] == ["trễ"]
        assert _banner_text(app) == "⚠ 1 bài trễ giờ (phím L)"
