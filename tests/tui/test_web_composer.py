"""The composer in a `loa web` tab offers the photos uploaded from the officer's PC."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, select
from textual.widgets import Input, Select, SelectionList, Static, TextArea

from content.models import Post
from content.ui.composer_form import UPLOAD_DIR_ENV
from tests.tui.conftest import SIZE
from tests.tui.pilot import open_composer, press


def _photo(path: Path, colour: tuple[int, int, int]) -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "PNG")
    path.write_bytes(out.getvalue())


async def test_uploaded_photos_are_offered_and_attached(
    make_app, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    _photo(uploads / "20261130-080000-old.png", (0, 0, 200))
    os.utime(uploads / "20261130-080000-old.png", (1, 1))
    monkeypatch.setenv(UPLOAD_DIR_ENV, str(uploads))
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        composer = await open_composer(pilot)
        # Uploaded while the composer is open: offered first (newest first).
        _photo(uploads / "20261130-090000-canh-bao.png", (200, 0, 0))
        composer._refresh_uploads()
        picker = composer.query_one("#uploads", Select)
        assert [str(label) for label, _ in picker._options[1:]] == [
            "20261130-090000-canh-bao.png",
            "20261130-080000-old.png",
        ]
        # The words in one go (typing is test_tui_flows' business; here it is the photos).
        composer.query_one("#title", Input).value = "Canh bao"
        composer.query_one("#text", TextArea).text = "Khong chuyen tien cho nguoi la."
        picker.focus()
        await press(pilot, "enter", "down", "enter")
        assert composer.query_one("#images", Input).value == "20261130-090000-canh-bao.png"
        info = str(composer.query_one("#images-info", Static).render())
        assert "✓ 20261130-090000-canh-bao.png: PNG 640×480" in info
        composer.query_one("#composer-channels", SelectionList).focus()
        await pilot.press("space")
        await pilot.click("#when")
        await pilot.press(*"30/11/2026 09:00")
        await press(pilot, "ctrl+r")
    with Session(engine) as session:
        posts = session.exec(select(Post)).all()
    assert [(p.title, p.state, len(p.image_ids)) for p in posts] == [("Canh bao", "in_review", 1)]


async def test_a_terminal_composer_has_no_upload_list(make_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(UPLOAD_DIR_ENV, raising=False)
    app = make_app("lan")
    async with app.run_test(size=SIZE) as pilot:
        await open_composer(pilot)
        assert not app.screen.query("#uploads")
