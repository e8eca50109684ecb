"""`loa demo` end to end: the README's first command, on the repository's channels.toml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from content.db import open_database
from content.queue import PostInput, Queue
from scheduler.cli import main
from scheduler.config import load
from scheduler.demo import refuse_unless_demo, run_demo
from tests.conftest import REPO


@pytest.mark.slow
def test_the_demo_publishes_every_sample_to_every_channel_and_collects_metrics(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the demo exports sandbox tokens
    config = load(REPO / "channels.toml")
    lines: list[str] = []
    result = run_demo(
        config, tmp_path / "demo.db", time_scale=0.05, deadline_seconds=60, say=lines.append
    )
    assert result.unsettled == 0
    assert dict(result.published) == {
        "tinh-fb": 3,
        "tinh-zalo": 2,
        "phuong1-fb": 4,
        "phuong1-zalo": 2,
    }
    assert result.samples > 0
    assert result.drafts_from_feed == 3
    assert lines[0].startswith("sandbox: Facebook Graph http://127.0.0.1:")
    # Its own database: the next demo may start it afresh.
    refuse_unless_demo(tmp_path / "demo.db")


def test_the_demo_never_replaces_an_offices_database(tmp_path: Path, monkeypatch, capsys):
    """`loa --db loa.db demo` by mistake: one line, exit 2, and the day's posts are all there."""
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    monkeypatch.setenv("LOA_LANG", "en")  # the English wording is asserted
    office_db = tmp_path / "loa.db"
    engine = open_database(f"sqlite:///{office_db}")
    queue = Queue(engine, load(REPO / "channels.toml").directory(), actor="can-bo")
    for i in range(3):
        queue.create(PostInput(text=f"Bài {i}: cảnh giác lừa đảo", channels=["tinh-fb"]))
    engine.dispose()
    before = office_db.read_bytes()

    assert main(["--db", str(office_db), "demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not made by `loa demo` and holds 3 posts" in err[0]
    assert office_db.read_bytes() == before


def test_the_demo_refuses_a_file_that_is_not_a_database(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("LOA_LANG", "en")  # the English wording is asserted
    notes = tmp_path / "notes.db"
    notes.write_text("ghi chú của phòng", encoding="utf-8")
    assert main(["--db", str(notes), "demo"]) == 2
    assert "not made by `loa demo`" in capsys.readouterr().err
    assert notes.read_text(encoding="utf-8") == "ghi chú của phòng"


def test_the_demos_own_file_made_before_the_mark_may_still_be_replaced(tmp_path: Path):
    old_demo = tmp_path / "loa-demo.db"
    open_database(f"sqlite:///{old_demo}").dispose()  # a demo database of an older Loa
    refuse_unless_demo(old_demo)
