"""The TUI's reschedule dialog parses times with the CLI's parser (content.times) and says
its refusals in the officer's language."""

from __future__ import annotations

from content.queue import PostInput
from tests.helpers import local
from tests.tui.conftest import SIZE
from tests.tui.pilot import open_detail, open_prompt, press


async def test_reschedule_refuses_a_date_without_a_time_in_vietnamese(make_app, make_queue):
    post = (
        make_queue("lan")
        .create(PostInput(text="Cảnh báo", channels=["fb"], at=local("2026-11-24 09:00")))
        .post
    )
    app = make_app("lan", lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        field = await open_prompt(pilot, "t")
        field.value = ""
        await pilot.press(*"20/12/2026", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#answer-error").render())
        assert error == "20/12/2026 chưa có giờ: hãy thêm giờ, ví dụ 20/12/2026 09:00."
        field.value = ""
        await press(pilot, *"25/11 16h30", "enter")  # day and month only: this year
    assert make_queue().get(post.id)[0].scheduled_at == local("2026-11-25 16:30")
