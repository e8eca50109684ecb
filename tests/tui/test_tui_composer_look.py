"""The composer's Preview tab: the post as Facebook's feed and a Zalo OA article will show it,
redrawn once typing pauses."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console
from textual.widgets import Input, Select, SelectionList, Static, TabbedContent, TextArea

from content.queue import ImageInput, PostInput
from content.ui import composer as composer_module
from content.ui.composer import ComposerScreen
from tests.tui.conftest import SIZE, settle
from tests.tui.pilot import fill_in, open_composer, press
from tests.tui.snapshot import assert_snapshot
from tui import LoaApp


@pytest.fixture(autouse=True)
def _no_typing_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview waits half a second for typing to pause; here a hundredth (see
    :func:`redrawn`)."""
    monkeypatch.setattr(composer_module, "PREVIEW_DELAY", 0.01)


async def redrawn(pilot) -> None:
    """Wait past the (shortened) typing pause, then for the app to settle."""
    await pilot.pause(0.05)
    await settle(pilot)


def look(composer: ComposerScreen) -> str:
    """The preview as plain text, as wide as the side column at 120 columns."""
    console = Console(width=40, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(composer.query_one("#composer-look", Static).content)
    return console.export_text(styles=False)


async def test_f3_shows_the_preview_and_a_long_text_folds(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        tabs = composer.query_one("#composer-side", TabbedContent)
        assert tabs.active == "side-settings"
        composer.query_one("#composer-channels", SelectionList).select("tinh-fb")
        composer.query_one("#text", TextArea).text = "\n".join(f"Dòng {i}" for i in range(1, 9))
        await pilot.press("f3")
        await redrawn(pilot)
        assert tabs.active == "side-look"
        shown = look(composer)
        assert "Facebook · Tỉnh FB" in shown
        assert "Dòng 5" in shown and "Dòng 6" not in shown
        assert "… See more (21 more characters folded)" in shown
        assert "is an estimate" in " ".join(shown.split())
        await pilot.press("f3")
        assert tabs.active == "side-settings"
        # From inside the tab it hides, too (the focus goes back to the text).
        composer.query_one("#composer-channels", SelectionList).focus()
        await press(pilot, "f3")
        assert tabs.active == "side-look"
        assert composer.focused is composer.query_one("#text", TextArea)


async def test_the_zalo_title_is_cut_at_its_limit(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#composer-channels", SelectionList).select("tinh-zalo")
        composer.query_one("#title", Input).value = "Cảnh báo " * 25
        composer.query_one("#text", TextArea).text = "Không chuyển tiền cho người lạ."
        await redrawn(pilot)
        shown = look(composer)
        assert "Zalo OA · Tỉnh Zalo" in shown
        assert "Title cut at 149 characters." in shown
        assert "Cover: a card drawn from the title" in shown
        assert "Không chuyển tiền cho người lạ." in shown
        # Typing on redraws it.
        composer.query_one("#title", Input).value = "Cảnh báo ngắn"
        await redrawn(pilot)
        assert "Title cut" not in look(composer)
        assert "Cảnh báo ngắn" in look(composer)


async def test_a_channel_with_its_own_text_is_previewed_with_it(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        fill_in(composer, text="Cảnh báo chung", channels=["fb"])
        await settle(pilot)
        await press(pilot, "ctrl+t")
        dialog = app.screen
        dialog.query_one("#variant-channel", Select).value = "xa-fb"
        await pilot.pause()
        dialog.query_one("#variant-text", TextArea).text = "Bà con xã chú ý"
        await pilot.press("ctrl+s")
        await redrawn(pilot)
        shown = look(composer)
        province, commune = shown.split("Facebook · Xã FB")
        assert "Cảnh báo chung" in province and "Bà con xã chú ý" not in province
        assert "xa-fb · own text" in commune and "Bà con xã chú ý" in commune


async def test_the_link_card_names_the_host(make_app):
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        composer.query_one("#composer-channels", SelectionList).select("tinh-fb")
        composer.query_one("#text", TextArea).text = "Xem chi tiết"
        composer.query_one("#link", Input).value = "https://www.congan.gov.vn/tin/113"
        await redrawn(pilot)
        assert "Link card: CONGAN.GOV.VN" in look(composer)


async def test_a_photo_post_and_an_oa_that_broadcasts(engine, directory, clock, tmp_path: Path):
    picture = tmp_path / "canh-bao.png"
    Image.new("RGB", (1200, 675), "orange").save(picture)
    oa = replace(directory.channels["tinh-zalo"], broadcast=True)
    broadcasting = replace(directory, channels={**directory.channels, "tinh-zalo": oa})
    app = LoaApp(engine, broadcasting, actor="lan", clock=clock, lang="en", refresh_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        channels = composer.query_one("#composer-channels", SelectionList)
        channels.select("tinh-fb")
        channels.select("tinh-zalo")
        composer.query_one("#title", Input).value = "Cảnh báo"
        composer.query_one("#text", TextArea).text = "Xem chi tiết"
        composer.query_one("#link", Input).value = "https://congan.gov.vn/a"
        composer.query_one("#images", Input).value = str(picture)
        composer._images_done()  # as when the officer leaves the field
        await redrawn(pilot)
        shown = look(composer)
        facebook, zalo = shown.split("Zalo OA · Tỉnh Zalo")
        assert "Image: canh-bao.png · PNG 1200×675" in facebook
        assert "https://congan.gov.vn/a" in facebook and "Link card" not in facebook
        assert "the link ends the text" in " ".join(facebook.split())
        assert "Cover: canh-bao.png · PNG 1200×675" in zalo
        assert "as a broadcast" in " ".join(zalo.split())


async def test_an_edited_post_is_previewed_with_its_saved_images_and_own_texts(
    make_app, make_queue
):
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(buf, format="PNG")
    make_queue("lan").create(
        PostInput(
            title="Cảnh báo",
            text="Nội dung chung",
            channels=["tinh-fb", "tinh-zalo"],
            images=[ImageInput(filename="a.png", data=buf.getvalue())],
            variants={"tinh-zalo": "Nội dung cho Zalo"},
        )
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await redrawn(pilot)
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        facebook, zalo = look(composer).split("Zalo OA · Tỉnh Zalo")
        assert "Nội dung chung" in facebook and "Image: 1 image(s)" in facebook
        assert "Nội dung cho Zalo" in zalo and "Cover: 1 image(s)" in zalo


async def test_snapshot_preview_at_80x24_in_vietnamese(make_app):
    app = make_app("lan", lang="vi")
    async with app.run_test(size=(80, 24)) as pilot:
        composer = await open_composer(pilot)
        channels = composer.query_one("#composer-channels", SelectionList)
        channels.select("tinh-fb")
        channels.select("tinh-zalo")
        composer.query_one("#title", Input).value = "Cảnh báo lừa đảo giả danh công an"
        composer.query_one("#text", TextArea).text = (
            "Công an không gọi điện yêu cầu chuyển tiền.\nGọi 113 khi nghi ngờ.\n"
            + "\n".join(f"Dòng {i}." for i in range(3, 9))
        )
        composer.query_one("#link", Input).value = "https://congan.gov.vn/canh-bao"
        await pilot.press("f3")
        await redrawn(pilot)
        await assert_snapshot(pilot, "composer_preview_vi_80x24")
