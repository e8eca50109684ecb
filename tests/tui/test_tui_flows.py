"""The officer's flows, driven through the keyboard and mouse as a user would."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from textual.widgets import Button, DataTable, Input, Select, SelectionList, Static, TextArea

from content.db import session_scope
from content.models import Delivery, DeliveryState, PostState
from content.queue import PostInput
from content.ui import data
from content.ui.data import PAGE_SIZE
from content.ui.detail import DetailScreen
from content.ui.queue_screen import QueueScreen
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications, settle, table_rows
from tests.tui.pilot import (
    click,
    confirm,
    fill_in,
    open_composer,
    open_detail,
    open_prompt,
    open_review,
    press,
)


def _post(make_queue, author="lan", *, submit=False, at="2026-11-24 09:00", **kw):
    request = PostInput(
        text=kw.pop("text", "Cảnh báo lừa đảo qua điện thoại"),
        channels=kw.pop("channels", ["fb"]),
        at=local(at) if at else None,
        **kw,
    )
    return make_queue(author).create(request, submit=submit).post


async def test_compose_submit_and_row_shows_office_time(make_app, make_queue):
    """A new post typed in the composer appears in the queue at its office-time slot."""
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        await pilot.press(*"Canh bao")  # the title has focus
        composer.query_one("#text", TextArea).focus()
        await pilot.press(*"Khong chuyen tien cho nguoi la.")
        composer.query_one("#composer-channels", SelectionList).focus()
        await pilot.press("space")  # the first entry: tinh-fb
        await pilot.click("#when")
        await pilot.press(*"30/11/2026 09:00")
        assert "Mon 2026-11-30 09:00" in str(composer.query_one("#when-hint", Static).render())
        counter = str(composer.query_one("#composer-counter", Static).render())
        assert "tinh-fb (Facebook): text 31 / 63,206" in counter
        await press(pilot, "ctrl+r")
        assert isinstance(app.screen, QueueScreen)
        rows = table_rows(pilot)
        assert [r[1:3] for r in rows] == [["2026-11-30 09:00", "in review"]]
        assert any("sent for review" in m for m in notifications(pilot))
    post, deliveries = make_queue().get(int(rows[0][0]))
    assert post.scheduled_at == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    assert post.author == "lan" and [d.channel for d in deliveries] == ["tinh-fb"]


async def test_validation_error_is_shown_next_to_its_field(make_app):
    """Zalo needs a title: the composer says so under the title, nothing is saved."""
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(composer, text="Nội dung", channels=["tinh-zalo"])
        await click(pilot, "#save")
        assert app.screen is composer
        error = str(composer.query_one("#error-title", Static).render())
        assert "needs a title" in error
        assert app.screen.focused is composer.query_one("#title", Input)


async def test_submit_then_approve_by_another_user(make_app, make_queue):
    """The author submits from the post screen; a second officer approves in Review."""
    post = _post(make_queue, "lan")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await press(pilot, "s")
        assert make_queue().get(post.id)[0].state == PostState.IN_REVIEW
    reviewer = make_app("minh")
    async with reviewer.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        preview = str(reviewer.screen.query_one("#review-text", Static).render())
        assert "Cảnh báo lừa đảo qua điện thoại" in preview
        await press(pilot, "a")
        assert table_rows(pilot, "#review-list") == []
        assert any(f"Post {post.id} approved." in m for m in notifications(pilot))
    approved = make_queue().get(post.id)[0]
    assert approved.state == PostState.SCHEDULED and approved.approved_by == "minh"


async def test_self_approval_is_refused(make_app, make_queue):
    """Where a second approver is required, the author's approval is refused and shown."""
    post = _post(make_queue, "lan", submit=True)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        await press(pilot, "a")
        assert any("the office requires a second approver" in m for m in notifications(pilot))
        assert [r[0] for r in table_rows(pilot, "#review-list")] == [str(post.id)]
    assert make_queue().get(post.id)[0].state == PostState.IN_REVIEW


async def test_send_back_with_a_comment(make_app, make_queue):
    post = _post(make_queue, "lan", submit=True)
    app = make_app("minh")
    async with app.run_test(size=SIZE) as pilot:
        await open_review(pilot)
        await open_prompt(pilot, "b")
        await press(pilot, *"Them so duong day nong", "enter")
    sent_back = make_queue().get(post.id)[0]
    assert sent_back.state == PostState.DRAFT
    assert sent_back.review_comment == "Them so duong day nong"


async def test_cancel_from_the_post_screen(make_app, make_queue):
    """Cancel asks first, takes a reason, and the queue shows the post cancelled."""
    post = _post(make_queue, "lan")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        await pilot.press("c")
        await pilot.pause()
        await confirm(pilot)
        await press(pilot, *"trung bai", "enter")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        audit = table_rows(pilot, "#detail-audit")
        assert audit[-1][1:] == ["lan", "cancelled", "trung bai"]
        await press(pilot, "escape")
        assert table_rows(pilot)[0][2] == "cancelled"
    assert make_queue().get(post.id)[0].state == PostState.CANCELLED


async def test_reschedule_from_the_post_screen(make_app, make_queue):
    post = _post(make_queue, "lan")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        field = await open_prompt(pilot, "t")
        assert field.value == "2026-11-24 09:00"
        field.value = ""
        await press(pilot, *"25/11/2026 16:30", "enter")
    assert make_queue().get(post.id)[0].scheduled_at == local("2026-11-25 16:30")


async def test_edit_an_existing_post(make_app, make_queue):
    post = _post(make_queue, "lan", title="Cũ")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")
        composer = app.screen
        assert composer.query_one("#title", Input).value == "Cũ"
        assert composer.query_one("#composer-channels", SelectionList).selected == [
            "tinh-fb",
            "xa-fb",
        ]
        composer.query_one("#title", Input).value = "Mới"
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, QueueScreen)
    assert make_queue().get(post.id)[0].title == "Mới"


async def test_queue_follows_changes_made_elsewhere(make_app, make_queue, engine):
    """Another connection approves a post and the daemon fails a delivery: a refresh shows
    both without moving the cursor, and the attention button leads to the failed post."""
    first = _post(make_queue, "lan", submit=True, at="2026-11-24 09:00")
    second = _post(make_queue, "lan", submit=True, at="2026-11-24 10:00", text="Mẹo an toàn")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down")
        table = app.screen.query_one("#posts", DataTable)
        assert table.cursor_row == 1
        make_queue("minh").approve(second.id)
        with session_scope(engine) as session:
            session.execute(
                update(Delivery)
                .where(Delivery.post_id == first.id, Delivery.channel == "xa-fb")
                .values(state=DeliveryState.FAILED, last_error_class="content")
            )
        await press(pilot, "r")
        rows = table_rows(pilot)
        assert rows[1][2] == "scheduled"
        assert rows[0][3] == "tinh-fb ○ xa-fb ✗"
        assert table.cursor_row == 1
        button = app.screen.query_one("#attention", Button)
        assert str(button.label) == "⚠ 1 needs attention"
        await click(pilot, "#attention")
        assert [r[0] for r in table_rows(pilot)] == [str(first.id)]


async def test_filters_search_and_paging(make_app, make_queue):
    queue = make_queue("lan")
    queue.create_many(
        [
            PostInput(text=f"Bài số {i}", channels=["tinh-fb"], campaign="A" if i % 2 else None)
            for i in range(130)
        ]
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(table_rows(pilot)) == PAGE_SIZE == 100
        status = str(app.screen.query_one("#status", Static).render())
        assert "Posts 1–100 of 130" in status
        await press(pilot, "right_square_bracket")
        assert len(table_rows(pilot)) == 30
        await press(pilot, "slash", *"số 12")
        assert sorted(r[4] for r in table_rows(pilot)) == [
            "Bài số 12",
            "Bài số 120",
            "Bài số 121",
            "Bài số 122",
            "Bài số 123",
            "Bài số 124",
            "Bài số 125",
            "Bài số 126",
            "Bài số 127",
            "Bài số 128",
            "Bài số 129",
        ]
        await press(pilot, "escape")
        assert len(table_rows(pilot)) == 100


def _count_reads(monkeypatch) -> list[data.QueueQuery]:
    asked: list[data.QueueQuery] = []
    load_queue = data.load_queue

    def counted(engine, query, *, visible=None):
        asked.append(query)
        return load_queue(engine, query, visible=visible)

    monkeypatch.setattr(data, "load_queue", counted)
    return asked


async def test_escape_clears_every_filter_with_one_read_of_the_queue(
    make_app, make_queue, monkeypatch
):
    posts = make_queue("lan").create_many(
        [PostInput(text=f"Bài số {i}", channels=["tinh-fb"], campaign="A") for i in range(3)]
    )
    asked = _count_reads(monkeypatch)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one("#state", Select).value = str(posts.post.state)
        screen.query_one("#campaign", Select).value = "A"
        await press(pilot, "slash", *"số 1")
        assert [r[4] for r in table_rows(pilot)] == ["Bài số 1"]
        before = len(asked)
        await press(pilot, "escape")
        assert len(table_rows(pilot)) == 3
        assert asked[before:] == [data.QueueQuery()]


async def test_a_space_at_the_end_of_the_search_reads_nothing_again(
    make_app, make_queue, monkeypatch
):
    make_queue("lan").create(PostInput(text="Bài số 1", channels=["tinh-fb"]))
    asked = _count_reads(monkeypatch)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash", *"số")
        before = len(asked)
        await press(pilot, "space")
        assert asked[before:] == []
        await press(pilot, "1")
        assert [q.text for q in asked[before:]] == ["số 1"]


async def test_language_switch_shows_vietnamese_labels(make_app):
    app = make_app("lan", lang="en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#posts", DataTable).columns["time"].label.plain == "Time"
        await press(pilot, "f2")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        assert screen.query_one("#posts", DataTable).columns["time"].label.plain == "Thời gian"
        assert {b.description for b in screen._bindings.key_to_bindings["n"]} == {"Bài mới"}
        assert str(screen.query_one("#attention", Button).label) == "✓ mọi thứ ổn"
        await press(pilot, "f2")
        assert app.screen.query_one("#posts", DataTable).columns["time"].label.plain == "Time"


async def test_vietnamese_from_the_office_config(make_app, make_queue, monkeypatch):
    """LOA_LANG wins over the office; dates are written day first in Vietnamese."""
    _post(make_queue, "lan", submit=True)
    monkeypatch.setenv("LOA_LANG", "vi")
    app = make_app("lan", lang=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table_rows(pilot)[0][1:3] == ["24/11/2026 09:00", "chờ duyệt"]
        await press(pilot, "question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await open_review(pilot)
        await press(pilot, "a")
        assert any("phải do người khác duyệt" in m for m in notifications(pilot))


async def test_a_failed_read_is_reported_once(make_app):
    """A post that is gone (or a database that is down) is said once, not every refresh."""
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(DetailScreen(999))
        await settle(pilot)
        await press(pilot, "r")
        assert notifications(pilot).count("post 999 does not exist") == 1
