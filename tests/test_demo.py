"""`loa demo` end to end: the README's first command, on the repository's channels.toml."""

from __future__ import annotations

import os
from pathlib import Path

from scheduler.config import load
from scheduler.demo import run_demo
from tests.conftest import REPO


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
