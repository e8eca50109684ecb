"""The month view and moving posts to another day by keys (week and month)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import Engine
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, Static

from content.db import session_scope
from content.errors import LoaError
from content.models import Post
from content.queue import PostInput
from content.ui.calendar import CalendarScreen
from content.ui.calendar_days import add_months, month_days
from content.ui.calendar_widgets import DayDialog
from content.ui.dialogs import PromptDialog
from content.ui.messages import error_in_words
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications
from tests.tui.pilot import open_month, open_week, press
from tests.tui.snapshot import assert_snapshot


def scheduled(make_queue, text: str, at: str, channels: tuple[str, ...] = ("tinh-fb",)) -> int:
    """A post by lan at ``at`` (office time), approved by minh: scheduled."""
    post = (
        make_queue("lan")
        .create(PostInput(text=text, channels=list(channels), at=local(at)), submit=True)
        .post
    )
    make_queue("minh").approve(post.id)
    return post.id


def scheduled_at(engine: Engine, post_id: int):
    with session_scope(engine, write=False) as session:
        return session.get(Post, post_id).scheduled_at


def month_counts(pilot: Pilot[None]) -> dict[date, int]:
    """Each day of the grid with a post count in its cell's first line."""
    screen = pilot.app.screen
    assert isinstance(screen, CalendarScreen)
    table = screen.query_one("#week", DataTable)
    days = month_days(screen.day)
    counts: dict[date, int] = {}
    for index, day in enumerate(days):
        head = str(table.get_cell_at(Coordinate(index // 7, index % 7))).split("\n")[0]
        match = re.search(r"(\d+) (?:posts?|bài)$|\((\d+)\)$", head)
        assert head.strip().startswith(str(day.day)), head
        if match:
            counts[day] = int(match.group(1) or match.group(2))
    return counts


def cell_lines(pilot: Pilot[None], day: date) -> list[str]:
    screen = pilot.app.screen
    index = month_days(screen.day).index(day)
    table = screen.query_one("#week", DataTable)
    return str(table.get_cell_at(Coordinate(index // 7, index % 7))).split("\n")


def test_month_grid_is_whole_weeks_from_monday():
    # November 2026 starts on a Sunday and ends on a Monday: six rows of weeks.
    days = month_days(date(2026, 11, 23))
    assert (days[0], days[-1], len(days)) == (date(2026, 10, 26), date(2026, 12, 6), 42)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)


async def test_month_shows_how_many_posts_each_day_has(make_app, make_queue):
    scheduled(make_queue, "Sáng thứ hai", "2026-11-23 09:00")
    scheduled(make_queue, "Chiều thứ hai", "2026-11-23 16:00")
    scheduled(make_queue, "Thứ tư", "2026-11-25 20:30")
    scheduled(make_queue, "Cuối tháng", "2026-11-30 07:00")
    scheduled(make_queue, "Đầu tháng sau", "2026-12-01 07:00")
    cancelled = scheduled(make_queue, "Bỏ", "2026-11-24 10:00")
    make_queue("lan").cancel(cancelled)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month(pilot)
        assert screen.title == "Month"
        # Every day of the grid in order: the weekday columns start on Monday.
        table = screen.query_one("#week", DataTable)
        assert [str(c.label) for c in table.columns.values()] == [
            "Mon",
            "Tue",
            "Wed",
            "Thu",
            "Fri",
            "Sat",
            "Sun",
        ]
        assert month_counts(pilot) == {
            date(2026, 11, 23): 2,
            date(2026, 11, 25): 1,
            date(2026, 11, 30): 1,
            date(2026, 12, 1): 1,
        }
        assert cell_lines(pilot, date(2026, 11, 23))[1:] == ["Sáng thứ hai", "Chiều thứ hai"]
        # December's first day is in the grid, not in November's count.
        assert str(screen.query_one("#week-label", Label).content) == "November 2026: 4 posts"
        # The cursor leaves the month by the arrows: the grid follows.
        await press(pilot, "down", "right")
        assert screen.day == date(2026, 12, 1)
        assert str(screen.query_one("#week-label", Label).content) == "December 2026: 1 post"
        await press(pilot, "left_square_bracket")
        assert screen.day == date(2026, 11, 1)
        assert month_counts(pilot)[date(2026, 11, 23)] == 2
        # Back to the week of the cursor's day with W.
        await press(pilot, "w")
        assert screen.title == "Week" and screen.start == date(2026, 10, 26)


async def test_month_in_vietnamese(make_app, make_queue):
    scheduled(make_queue, "Sáng thứ hai", "2026-11-23 09:00")
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month(pilot)
        assert screen.title == "Lịch tháng"
        assert str(screen.query_one("#week-label", Label).content) == "Tháng 11/2026: 1 bài"
        assert month_counts(pilot) == {date(2026, 11, 23): 1}


async def test_a_post_is_moved_to_another_day_by_keys(make_app, make_queue, engine):
    post_id = scheduled(make_queue, "Cảnh báo lừa đảo", "2026-11-23 09:00")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month(pilot)
        # The only post of the day: D picks it at once, no list to choose from.
        await press(pilot, "d")
        assert screen.moving is not None and screen.moving.post_id == post_id
        hint = str(screen.query_one("#calendar-hint", Static).content)
        assert "Moving post" in hint and "Cảnh báo lừa đảo" in hint
        await press(pilot, "right", "right")
        # The day chosen previews the post before anything is written.
        assert cell_lines(pilot, date(2026, 11, 25))[1] == "→ Cảnh báo lừ…"
        assert scheduled_at(engine, post_id) == local("2026-11-23 09:00")
        await press(pilot, "enter")
        assert isinstance(app.screen, PromptDialog)
        # The time is kept unless changed; here it changes too.
        assert app.screen.query_one("#answer", Input).value == "09:00"
        await press(pilot, *["backspace"] * 5, *"14:30", "enter")
        assert app.screen is screen
        assert scheduled_at(engine, post_id) == local("2026-11-25 14:30")
        assert screen.moving is None
        assert month_counts(pilot) == {date(2026, 11, 25): 1}
        assert f"Post {post_id} has a new time." in notifications(pilot)


async def test_a_refused_move_says_why_and_the_post_stays(make_app, make_queue, engine):
    post_id = scheduled(make_queue, "Cảnh báo lừa đảo", "2026-11-23 09:00")
    try:
        make_queue("lan").schedule(post_id, local("2026-11-22 09:00"))
    except LoaError as exc:
        why = error_in_words(exc)
    else:  # pragma: no cover - the rule this test relies on
        pytest.fail("the queue accepted a time in the past")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month(pilot)
        await press(pilot, "d", "left", "enter")
        await press(pilot, "enter")
        assert why in notifications(pilot)
        assert scheduled_at(engine, post_id) == local("2026-11-23 09:00")
        # Still moving: another day can be chosen; Escape gives up and leaves it alone,
        # the cursor back on its day.
        assert screen.moving is not None
        await press(pilot, "escape")
        assert screen.moving is None and isinstance(app.screen, CalendarScreen)
        assert screen.day == date(2026, 11, 23)
        assert month_counts(pilot) == {date(2026, 11, 23): 1}
        # An impossible time never reaches the queue: the dialog says why.
        await press(pilot, "d", "right", "enter")
        await press(pilot, *["backspace"] * 5, *"25:00", "enter")
        assert isinstance(app.screen, PromptDialog)
        assert str(app.screen.query_one("#answer-error", Static).content)
        assert scheduled_at(engine, post_id) == local("2026-11-23 09:00")


async def test_enter_lists_a_day_and_d_moves_one_of_its_posts(make_app, make_queue, engine):
    scheduled(make_queue, "Sáng", "2026-11-23 09:00")
    afternoon = scheduled(make_queue, "Chiều", "2026-11-23 16:00")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_month(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, DayDialog)
        rows = app.screen.query_one("#day-posts", DataTable)
        assert [str(rows.get_row_at(i)[2]) for i in range(rows.row_count)] == ["Sáng", "Chiều"]
        await press(pilot, "down", "d")
        assert app.screen is screen and screen.moving.post_id == afternoon
        await press(pilot, "down", "enter", "enter")
        assert scheduled_at(engine, afternoon) == local("2026-11-30 16:00")


async def test_a_post_is_moved_from_the_week_view(make_app, make_queue, engine):
    post_id = scheduled(make_queue, "Thứ hai", "2026-11-23 09:00")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_week(pilot)
        # Past Sunday the cursor goes on into the next week.
        await press(pilot, "d", *["right"] * 7)
        assert app.screen.start == date(2026, 11, 30)
        await press(pilot, "enter", "enter")
        assert scheduled_at(engine, post_id) == local("2026-11-30 09:00")


async def test_week_titles_use_the_width_there_is(make_app, make_queue):
    scheduled(make_queue, "Cảnh báo giả danh công an", "2026-11-23 09:00")
    app = make_app("lan")
    async with app.run_test(size=(200, 50)) as pilot:
        await open_week(pilot)
        table = app.screen.query_one("#week", DataTable)
        # A quiet week: the whole title, wrapped under itself rather than cut.
        assert str(table.get_cell_at(Coordinate(0, 0))) == "09:00 Cảnh báo giả danh\n      công an"
    app = make_app("lan")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_week(pilot)
        # Narrow: the time on its own line, the title on the whole width of the next.
        table = app.screen.query_one("#week", DataTable)
        assert str(table.get_cell_at(Coordinate(0, 0))) == "09:00\nCảnh báo\ngiả danh…"


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_snapshot_month(make_app, make_queue, lang, size):
    for at, text in (
        ("2026-11-23 09:00", "Cảnh báo giả danh công an"),
        ("2026-11-23 16:00", "Mẹo: không bấm vào đường link lạ"),
        ("2026-11-23 20:00", "Đường dây nóng 113"),
        ("2026-11-25 20:30", "Tuyên truyền phòng cháy"),
        ("2026-11-30 07:00", "Tổng kết tháng"),
    ):
        scheduled(make_queue, text, at)
    app = make_app("lan", lang=lang)
    async with app.run_test(size=size) as pilot:
        await open_month(pilot)
        await assert_snapshot(pilot, f"month_{lang}_{size[0]}x{size[1]}")
        # Three posts that day: D asks which; Enter takes the first.
        await press(pilot, "d", "enter", "right", "right")
        await assert_snapshot(pilot, f"month_moving_{lang}_{size[0]}x{size[1]}")
