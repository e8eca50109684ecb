"""The screens kept fresh from the database (content.ui.base.PollingScreen): an answer to
an older question never replaces the answer to the officer's last one."""

from __future__ import annotations

import threading

import pytest

from content.queue import PostInput
from content.ui import data
from content.ui.queue_screen import QueueScreen
from tests.tui.conftest import SIZE, settle, table_rows
from tests.tui.pilot import wait_for


async def test_a_slow_read_of_the_whole_list_does_not_undo_the_search(
    make_app, make_queue, monkeypatch: pytest.MonkeyPatch
):
    queue = make_queue("lan")
    scam = queue.create(PostInput(text="Cảnh báo lừa đảo qua điện thoại", channels=["tinh-fb"]))
    queue.create(PostInput(text="Lịch tiếp công dân tháng 12", channels=["tinh-fb"]))
    read_queue = data.load_queue
    held = threading.Event()  # set: the next read of the whole list waits for `release`
    release = threading.Event()
    finished = threading.Event()  # the held read has returned its (old) answer

    def load_queue(*args: object, **kwargs: object) -> data.QueuePage:
        query = args[1]
        assert isinstance(query, data.QueueQuery)
        if held.is_set() and query.text is None:
            held.clear()
            release.wait(timeout=10)
            try:
                return read_queue(*args, **kwargs)  # type: ignore[arg-type]
            finally:
                finished.set()
        return read_queue(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(data, "load_queue", load_queue)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(table_rows(pilot)) == 2
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        held.set()
        screen.reload()  # the timer's read of the whole list, held up
        await pilot.pause()
        await pilot.press("slash", *"lừa")  # the officer searches meanwhile
        await wait_for(pilot, lambda: len(table_rows(pilot)) == 1, "the search's answer")
        release.set()
        await wait_for(pilot, finished.is_set, "the held read's return")
        await settle(pilot)
        rows = table_rows(pilot)
    assert [r[0] for r in rows] == [str(scam.post.id)]
