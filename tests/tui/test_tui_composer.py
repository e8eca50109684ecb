"""The composer's helpers: image checks, next free slot, warnings from the queue rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from pathlib import Path

from PIL import Image
from textual.widgets import Button, Input, SelectionList, Static, TextArea

from content.queue import PostInput
from content.ui.composer_form import counter_lines
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications, settle
from tests.tui.pilot import click, confirm, fill_in, open_composer, press
from tui import LoaApp


def test_counter_lines_per_channel(directory):
    lines = counter_lines(directory, ["fb", "tinh-zalo"], "", "Xin chào")
    assert lines == [
        ("✓ tinh-fb (Facebook): text 8 / 63,206", True),
        ("✓ xa-fb (Facebook): text 8 / 63,206", True),
        ("✗ tinh-zalo (Zalo OA): title 0 / 149, needs a title", False),
    ]


async def test_images_are_checked_in_the_background(make_app, tmp_path: Path, make_queue):
    good = tmp_path / "canh-bao.png"
    Image.new("RGB", (800, 600), "orange").save(good)
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#composer-channels", SelectionList).select("tinh-fb")
        await pilot.click("#images")
        # The path in one go: typed key by key, its ~70 characters took seconds.
        composer.query_one("#images", Input).value = str(bad)
        await press(pilot, "enter")
        assert "not a readable image" in str(composer.query_one("#error-image", Static).render())
        composer.query_one("#images", Input).value = str(good)
        await press(pilot, "enter")
        info = str(composer.query_one("#images-info", Static).render())
        assert "✓ canh-bao.png: PNG 800×600" in info
        assert str(composer.query_one("#error-image", Static).render()) == ""
        composer.query_one("#text", TextArea).text = "Ảnh cảnh báo"
        await press(pilot, "ctrl+s")
    post = make_queue().get(1)[0]
    assert len(post.image_ids) == 1 and post.state == "draft"


async def test_next_free_slot_skips_a_taken_slot(engine, directory, clock, make_queue):
    office = replace(directory.office, posting_slots=(time(7, 30), time(11, 30)))
    slotted = replace(directory, office=office)
    make_queue("lan").create(
        PostInput(text="Đã có", channels=["tinh-fb"], at=local("2026-11-23 11:30"))
    )
    app = LoaApp(engine, slotted, actor="lan", clock=clock, lang="en", refresh_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#composer-channels", SelectionList).select("tinh-fb")
        await click(pilot, "#slot")
        assert composer.query_one("#when", Input).value == "2026-11-24 07:30"
        composer.query_one("#composer-channels", SelectionList).deselect("tinh-fb")
        composer.query_one("#composer-channels", SelectionList).select("xa-fb")
        await click(pilot, "#slot")
        assert composer.query_one("#when", Input).value == "2026-11-23 11:30"


async def test_queue_warnings_are_shown_after_saving(make_app, make_queue):
    make_queue("lan").create(
        PostInput(text="Gọi 113 khi cần", channels=["tinh-fb"], at=local("2026-11-24 09:00"))
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        assert composer.query_one("#slot", Button).disabled  # this office has no slots
        fill_in(composer, text="gọi 113  khi cần", channels=["tinh-fb"], when="24/11/2026 09:10")
        await press(pilot, "ctrl+s")
        shown = notifications(pilot)
        assert "the same text is already queued for tinh-fb (post 1)" in shown
        assert any("less than 30 min apart" in m for m in shown)


async def test_closing_with_unsaved_text_asks_first(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        await pilot.press(*"Nhap")
        await pilot.press("escape")
        await pilot.pause()
        await confirm(pilot, yes=False)
        assert app.screen is composer
        await pilot.press("escape")
        await pilot.pause()
        await confirm(pilot)
        await settle(pilot)
        assert type(app.screen).__name__ == "QueueScreen"


async def test_campaign_names_are_suggested(make_app, make_queue):
    make_queue("lan").create(
        PostInput(text="Bài", channels=["tinh-fb"], campaign="Lừa đảo qua mạng 2026")
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot)
        await pilot.click("#campaign")
        await press(pilot, *"lừa", "right")
        assert app.screen.query_one("#campaign", Input).value == "Lừa đảo qua mạng 2026"


async def test_zalo_night_is_said_before_saving(engine, directory, clock):
    channels = dict(directory.channels)
    channels["tinh-zalo"] = replace(channels["tinh-zalo"], broadcast=True)
    app = LoaApp(
        engine,
        replace(directory, channels=channels),
        actor="lan",
        clock=clock,
        lang="en",
        refresh_seconds=3600,
    )
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#when", Input).value = "24/11/2026 23:00"
        composer.query_one("#composer-channels", SelectionList).select("tinh-zalo")
        await pilot.pause()
        hint = str(composer.query_one("#when-hint", Static).render())
        assert "tinh-zalo: Zalo refuses broadcasts from 22:00 to 06:00" in hint
        composer.query_one("#when", Input).value = "24/11/2026 09:00"
        await pilot.pause()
        assert "Zalo" not in str(composer.query_one("#when-hint", Static).render())
