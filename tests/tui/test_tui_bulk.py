"""Several posts at once in the queue: Space selects, A approves, T moves, X cancels; each
post is changed or refused on its own, and a refused one stays selected."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from textual.widgets import DataTable, Input

from content import bulk
from content.models import PostState
from content.queue import PostInput
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications, settle, table_rows
from tests.tui.pilot import press
from tui import LoaApp


def _in_review(make_queue, author: str, n: int, channel: str = "tinh-fb") -> list[int]:
    queue = make_queue(author)
    return [
        queue.create(
            PostInput(text=f"Tin số {i}", channels=[channel], at=local(f"2026-11-2{5 + i} 09:00")),
            submit=True,
        ).post.id
        for i in range(n)
    ]


async def _select(pilot, rows: int) -> None:
    """Select the first ``rows`` rows of the queue with Space (it moves down as it selects)."""
    pilot.app.screen.query_one("#posts", DataTable).move_cursor(row=0)
    for _ in range(rows):
        await pilot.press("space")
    await pilot.pause()


async def test_approve_several_says_each_refusal_and_keeps_it_selected(make_app, make_queue):
    mine = _in_review(make_queue, "minh", 1)
    theirs = _in_review(make_queue, "lan", 2)
    app = make_app("minh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, 3)
        assert [r[0] for r in table_rows(pilot)] == [f"● {i}" for i in mine + theirs]
        status = str(app.screen.query_one("#status").render())
        assert status.startswith("3 posts selected"), status
        await press(pilot, "a")
        await press(
            pilot, "y"
        )  # "Yes, approve" (Enter would say no: the safe button has the focus)
        said = notifications(pilot)
        assert f"2 approved: {theirs[0]}, {theirs[1]}." in said, said
        assert f"post {mine[0]}: minh wrote it and cannot approve it" in " ".join(said), said
        screen = app.screen
        assert list(screen.selected) == mine
        assert table_rows(pilot)[0][0] == f"● {mine[0]}"
        await pilot.press("escape")
        await pilot.pause()
        assert screen.selected == {}
        assert table_rows(pilot)[0][0] == str(mine[0])
    queue = make_queue()
    assert [queue.get(i)[0].state for i in mine + theirs] == [
        PostState.IN_REVIEW,
        PostState.SCHEDULED,
        PostState.SCHEDULED,
    ]


async def test_cancel_several_with_one_reason(make_app, make_queue):
    ids = _in_review(make_queue, "lan", 2)
    app = make_app("minh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, 2)
        await press(pilot, "x")
        await press(pilot, "y")  # "Yes, cancel them"
        app.screen.query_one(Input).value = "trùng nội dung"
        await press(pilot, "enter")
        assert f"2 cancelled: {ids[0]}, {ids[1]}." in notifications(pilot)
    queue = make_queue()
    assert [queue.get(i)[0].state for i in ids] == [PostState.CANCELLED] * 2


async def test_move_several_to_the_next_free_slots(engine, directory, clock, make_queue):
    office = replace(directory.office, posting_slots=(time(9, 0), time(15, 0)))
    directory = replace(directory, office=office)
    ids = _in_review(make_queue, "lan", 2)
    app = LoaApp(engine, directory, actor="minh", clock=clock, lang="en", refresh_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _select(pilot, 2)
        await press(pilot, "t")
        assert app.screen.query_one(Input).value == "next"
        await press(pilot, "enter")
        assert f"2 moved: {ids[0]}, {ids[1]}." in notifications(pilot)
    queue = make_queue()
    # The clock is 23/11 08:00 office time: the next slots are 09:00 and 15:00 that day,
    # one post each (the second does not pile onto the first's slot).
    assert [queue.get(i)[0].scheduled_at for i in ids] == [
        local("2026-11-23 09:00"),
        local("2026-11-23 15:00"),
    ]


async def test_the_selection_keys_show_only_while_posts_are_selected(make_app, make_queue):
    _in_review(make_queue, "lan", 1)
    app = make_app("minh")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "approve_selected" not in shown and "edit" in shown
        await _select(pilot, 1)
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.enabled}
        assert "approve_selected" in shown and "edit" not in shown


def test_apply_each_changes_what_it_may_and_collects_the_rest(make_queue):
    ids = _in_review(make_queue, "lan", 2)
    queue = make_queue("minh")
    queue.cancel(ids[0])
    result = bulk.apply_each([ids[0], ids[1], ids[1]], queue.approve)
    assert [p.id for p in result.posts] == [ids[1]]
    assert [(i, e.code) for i, e in result.refused] == [(ids[0], "approve_state")]
