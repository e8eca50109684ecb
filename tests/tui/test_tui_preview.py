"""Image previews: a small half-block picture of an attached image, a readable caption when
it cannot be drawn, and the full image handed over as a file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from textual.widgets import Input, SelectionList

from content.queue import ImageInput, PostInput
from content.ui.i18n import set_language
from content.ui.preview import ImagePreview, make_thumbnail
from tests.helpers import local
from tests.tui.conftest import SIZE, notifications
from tests.tui.pilot import open_composer, open_detail, press
from tests.tui.snapshot import screen_text


def _png(path: Path, size: tuple[int, int] = (800, 600)) -> Path:
    Image.new("RGB", size, "orange").save(path)
    return path


def test_thumbnail_of_a_png_and_of_a_broken_file(tmp_path: Path):
    set_language("en")  # the language is per process: an earlier test may have left "vi"
    good = make_thumbnail("canh-bao.png", _png(tmp_path / "a.png").read_bytes())
    assert good.picture is not None
    assert good.caption == "canh-bao.png · PNG 800×600 · 3 KB"
    broken = make_thumbnail("notes.png", b"not a picture at all")
    assert broken.picture is None
    assert broken.caption.startswith("notes.png: no preview (")
    assert broken.caption.endswith(", 0 KB")


async def test_composer_previews_the_first_image(make_app, tmp_path: Path):
    good = _png(tmp_path / "canh-bao.png")
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        preview = composer.query_one("#composer-preview", ImagePreview)
        assert not preview.display
        assert not composer.check_action("open_image", ())
        composer.query_one("#composer-channels", SelectionList).select("tinh-fb")
        await pilot.click("#images")
        # The path in one go: typed key by key, its ~70 characters took seconds.
        composer.query_one("#images", Input).value = str(good)
        await press(pilot, "enter")
        assert preview.display and preview.thumbnail.picture is not None
        screen = screen_text(app)
        assert "▄▄▄▄" in screen
        assert "canh-bao.png · PNG 800×600" in screen
        assert composer.check_action("open_image", ())
        composer.query_one("#images", Input).value = str(bad)
        await press(pilot, "enter")
        assert preview.thumbnail.picture is None
        assert "notes.png: no preview (" in screen_text(app)


async def test_post_screen_shows_its_image_and_opens_it(
    make_app, make_queue, tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("DISPLAY", raising=False)  # no viewer: only the path is told
    blob = _png(tmp_path / "canh-bao.png", (1080, 1080)).read_bytes()
    make_queue("lan").create(
        PostInput(
            text="Ảnh cảnh báo",
            channels=["tinh-fb"],
            images=[ImageInput("canh-bao.png", blob)],
            at=local("2026-11-24 09:00"),
        )
    )
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot)
        preview = app.screen.query_one("#detail-preview", ImagePreview)
        assert preview.display and preview.thumbnail.picture is not None
        assert "canh-bao.png · PNG 1080×1080" in screen_text(app)
        await press(pilot, "i")
        told = [m for m in notifications(pilot) if m.startswith("The full image is in ")]
        assert told
        written = Path(told[0].removeprefix("The full image is in "))
        assert written.name == "canh-bao.png" and written.read_bytes() == blob
        written.unlink()
        written.parent.rmdir()
