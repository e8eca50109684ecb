"""The composer's repeat rule, own text per channel, and the queue's warnings before saving."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, SelectionList, Static, TextArea

from content.errors import NotFound
from content.queue import PostInput
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications, settle
from tests.tui.pilot import fill_in, open_composer, press, wait_for


async def test_repeat_every_two_days_makes_one_post_each(make_app, make_queue):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(
            composer, text="Nhắc lịch tiêm chủng", channels=["tinh-fb"], when="24/11/2026 09:00"
        )
        assert not composer.query_one("#repeat-options").display
        composer.query_one("#repeat-kind", Select).value = "days"
        await pilot.pause()
        assert composer.query_one("#repeat-every-row").display
        assert not composer.query_one("#repeat-weekdays").display
        composer.query_one("#repeat-every", Input).value = "2"
        composer.query_one("#repeat-until", Input).value = "01/12/2026"
        await press(pilot, "ctrl+s")
        assert "4 posts saved, one per date: post 1 to post 4." in notifications(pilot)
    queue = make_queue()
    times = [queue.get(i)[0].scheduled_at for i in range(1, 5)]
    assert times == [local(f"2026-{d} 09:00") for d in ("11-24", "11-26", "11-28", "11-30")]
    assert len({queue.get(i)[0].series_id for i in range(1, 5)}) == 1


async def test_weekly_repeat_on_weekdays_and_a_missing_until(make_app, make_queue):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(composer, text="Bản tin an ninh", channels=["xa-fb"], when="23/11/2026 16:00")
        composer.query_one("#repeat-kind", Select).value = "weekly"
        weekdays = composer.query_one("#repeat-weekdays", SelectionList)
        weekdays.select(0)  # Monday
        weekdays.select(3)  # Thursday
        await press(pilot, "ctrl+s")
        error = str(composer.query_one("#error-repeat", Static).render())
        assert error == "Give the date of the last repetition."
        assert app.screen is composer
        composer.query_one("#repeat-until", Input).value = "2026-12-03"
        await press(pilot, "ctrl+s")
        assert app.screen is not composer
    queue = make_queue()
    times = [queue.get(i)[0].scheduled_at for i in range(1, 5)]
    assert times == [local(f"2026-{d} 16:00") for d in ("11-23", "11-26", "11-30", "12-03")]


async def test_own_text_for_one_channel(make_app, make_queue):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(composer, text="Cảnh báo chung", channels=["fb"])
        await pilot.pause()
        await press(pilot, "ctrl+t")
        dialog = app.screen
        assert type(dialog).__name__ == "VariantDialog"
        dialog.query_one("#variant-channel", Select).value = "xa-fb"
        await pilot.pause()
        area = dialog.query_one("#variant-text", TextArea)
        assert area.text == "Cảnh báo chung"  # starts from the main text
        area.text = "Bà con xã chú ý"
        await press(pilot, "ctrl+s")
        assert app.screen is composer
        assert "Own text: xa-fb" in str(composer.query_one("#variants-info", Static).render())
        counter = str(composer.query_one("#composer-counter", Static).render())
        assert "xa-fb (Facebook): own text 15 / 63,206" in counter
        await press(pilot, "ctrl+s")
    deliveries = {d.channel: d.text_variant for d in make_queue().get(1)[1]}
    assert deliveries == {"tinh-fb": None, "xa-fb": "Bà con xã chú ý"}


async def test_warnings_are_shown_before_saving(make_app, make_queue):
    make_queue("lan").create(
        PostInput(text="Gọi 113 khi cần", channels=["tinh-fb"], at=local("2026-11-24 09:00"))
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(composer, text="gọi 113  khi cần", channels=["tinh-fb"], when="24/11/2026 09:10")
        warnings = composer.query_one("#composer-warnings", Static)
        # The preview waits for typing to pause, then says what saving would warn about.
        await wait_for(pilot, lambda: str(warnings.render()), "the warnings")
        shown = str(warnings.render())
        assert "the same text is already queued for tinh-fb (post 1)" in shown
        assert "less than 30 min apart" in shown
        with pytest.raises(NotFound):  # nothing was written
            make_queue().get(2)
        composer.query_one("#when", Input).value = "25/11/2026 09:10"
        composer.query_one("#text", TextArea).text = "Một nội dung khác"
        await wait_for(pilot, lambda: not str(warnings.render()), "the warnings to go")


async def test_a_time_already_past_is_said_while_typing(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        when = composer.query_one("#when", Input)
        when.value = "01/01/2020 09:00"
        when.focus()
        await press(pilot, "tab")
        error = str(composer.query_one("#error-at", Static).render())
        assert error == "2020-01-01 09:00 is in the past (it is now 2026-11-23 08:00).", error
        # Seen, not only written: the stylesheet once hid every error line.
        shown = composer.query_one("#error-at", Static)
        assert shown.display and shown.region.height >= 1
        when.value = "31/02/2027 09:00"
        await pilot.pause()
        when.focus()
        await press(pilot, "tab")
        error = str(composer.query_one("#error-at", Static).render())
        assert "not a real date and time" in error, error


async def test_in_the_web_an_image_is_one_of_his_uploads_never_a_server_path(
    make_app, make_queue, tmp_path, monkeypatch
):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    monkeypatch.setenv("LOA_UPLOAD_DIR", str(uploads))
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(composer, text="Cảnh giác lừa đảo", channels=["tinh-fb"])
        # A readable image on the server, outside his uploads: not his to publish.
        secret = tmp_path / "server-only.png"
        from PIL import Image

        Image.new("RGB", (600, 400), "red").save(secret)
        composer.query_one("#images", Input).value = str(secret)
        await press(pilot, "ctrl+s")
        error = str(composer.query_one("#error-image", Static).render())
        assert "is not one of your uploaded photos" in error, error
        assert app.screen is composer
    with pytest.raises(NotFound):
        make_queue().get(1)


async def test_a_chosen_channel_is_ticked_and_the_others_are_empty(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        channels = composer.query_one("#composer-channels", SelectionList)
        channels.select("xa-fb")
        await pilot.pause()
        lines = [channels.render_line(y).text for y in range(channels.option_count)]
        ticked = [line for line in lines if "✓" in line]
        assert len(ticked) == 1 and "xa-fb" in ticked[0], lines
        assert not any("X" in line.split(" ", 1)[0] for line in lines), lines


async def test_closing_asks_only_when_the_form_changed(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        await press(pilot, "escape")
        assert app.screen is not composer  # nothing typed: no question
        composer = await open_composer(pilot)
        await pilot.press(*"Tin")
        await pilot.press("backspace", "backspace", "backspace")
        await press(pilot, "escape")
        assert app.screen is not composer  # typed and erased: the same empty form
        composer = await open_composer(pilot)
        await pilot.press(*"Tin")
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "ConfirmDialog"


async def test_an_image_is_chosen_by_browsing_folders(make_app, tmp_path, monkeypatch):
    from PIL import Image

    from content.ui.file_picker import ImagePicker, ImageTree

    pictures = tmp_path / "Ảnh"
    pictures.mkdir()
    Image.new("RGB", (800, 600), "blue").save(pictures / "canh-bao.png")
    (pictures / "ghi-chu.txt").write_text("không phải ảnh")
    (tmp_path / ".cache").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path))
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        await pilot.click("#pick-image")
        await pilot.pause()
        assert isinstance(app.screen, ImagePicker)
        tree = app.screen.query_one(ImageTree)
        # The tree lists folders in a worker that lives as long as the tree: wait for what
        # it shows, not for the worker to end (settle() would wait forever).
        await wait_for(pilot, lambda: tree.root.children, "the folders")
        assert [str(node.label) for node in tree.root.children] == ["Ảnh"]  # no hidden one
        await pilot.press("down", "enter")  # open "Ảnh"
        folder = tree.root.children[0]
        await wait_for(pilot, lambda: folder.children, "the folder's images")
        assert [str(n.label) for n in folder.children] == ["canh-bao.png"]  # no .txt
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.screen is composer, "the composer again")
        await settle(pilot)
        assert app.screen is composer
        assert composer.query_one("#images", Input).value == str(pictures / "canh-bao.png")
        info = str(composer.query_one("#images-info", Static).render())
        assert "canh-bao.png: PNG 800×600" in info
