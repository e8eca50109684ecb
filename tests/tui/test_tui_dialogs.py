"""Small dialogs: what the officer typed wrong is said under the field, on screen."""

from __future__ import annotations

from content.queue import PostInput
from tests.tui.conftest import SIZE, settle
from tests.tui.pilot import press
from tests.tui.snapshot import screen_text


async def test_a_mistyped_time_is_said_under_the_field(make_app, make_queue):
    make_queue().create(PostInput(text="Cảnh giác lừa đảo", channels=["tinh-fb"]), submit=True)
    app = make_app(lang="vi")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "space", "t")  # select the post, then a new time for it
        app.screen.query_one("#answer").value = "32/13/2026 25:00"
        await press(pilot, "enter")
        shown = screen_text(app)
        still = type(app.screen).__name__
    assert still == "PromptDialog"
    # The library's refusal in Vietnamese, between the field and the buttons (a stylesheet
    # rule once hid every such line, said or not).
    assert "32/13/2026 25:00 không phải ngày giờ có thật: không có tháng 13" in shown
