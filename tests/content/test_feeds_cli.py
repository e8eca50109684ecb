"""`loa feeds ...` in-process, through the command's own register() (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from content.errors import LoaError
from content.i18n import set_language
from scheduler.cli import feeds as feeds_cli
from scheduler.cli.common import CommandParser, common_options
from tests.conftest import REPO

FEEDS = Path(__file__).parent / "feeds"
SAMPLE = REPO / "content" / "samples" / "bocongan-sample.xml"


@pytest.fixture
def loa(db_url, engine, capsys, monkeypatch):
    """Run `loa feeds ...` with the repository's channels.toml on a fresh, upgraded database."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    parser = CommandParser(prog="loa")
    common_options(parser, defaults=True)
    feeds_cli.register(parser.add_subparsers())

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(["--db", db_url, "--config", str(REPO / "channels.toml"), *argv])
        try:
            code = args.handler(args)
        except LoaError as exc:  # what scheduler.cli.main does
            print(f"loa: error: {exc}", file=sys.stderr)
            code = exc.exit_code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_add_then_list_json(loa):
    code, out, err = loa("feeds", "add", str(SAMPLE), "--channel", "all", "--max-per-poll", "2")
    assert (code, out) == (0, f"feed 1 added: {SAMPLE.resolve().as_uri()}\n"), err
    code, out, _ = loa("feeds", "list", "--json")
    (feed,) = json.loads(out)
    assert feed["channels"] == ["all"]
    assert (feed["max_new_per_poll"], feed["make_drafts"], feed["active"]) == (2, True, True)
    assert feed["items"] == {"new": 0, "drafted": 0, "skipped": 0, "seen": 0}


def test_import_of_a_new_file_adds_it_and_reports_counts(loa):
    code, out, err = loa("feeds", "import", str(SAMPLE), "--channel", "tinh-fb")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "feed 1: 6 new, 0 duplicate, 0 skipped, 5 drafted, 1 waiting for later polls"
    assert lines[1] == "  drafts: post 1, post 2, post 3, post 4, post 5 (review them)"


def test_a_vietnamese_office_reads_the_import_in_vietnamese(loa):
    set_language("vi")  # what `loa` does for an office whose language is Vietnamese
    try:
        code, out, err = loa("feeds", "import", str(SAMPLE), "--channel", "tinh-fb")
        listed = loa("feeds", "list")[1]
    finally:
        set_language("en")
    assert code == 0, err
    assert out.splitlines() == [
        "nguồn tin 1: 6 tin mới, 0 tin trùng, bỏ qua 0, soạn nháp 5, 1 tin chờ các lần lấy tin sau",
        "  bản nháp: bài 1, bài 2, bài 3, bài 4, bài 5 (hãy xem lại)",
    ]
    assert "đang chạy  lấy tin " in listed and "mới 1 đã soạn nháp 5" in listed


def test_import_json_lists_skipped_entries_with_reasons(loa):
    code, out, _ = loa(
        "feeds", "import", str(FEEDS / "undated.xml"), "--channel", "tinh-fb", "--json"
    )
    (result,) = json.loads(out)
    assert (code, result["new"], result["drafted"]) == (0, 2, 2)
    assert result["skipped"] == [
        {"title": "(untitled entry)", "reason": "the entry has no title, link or text"}
    ]


def test_import_mark_seen_makes_no_drafts(loa):
    code, out, _ = loa("feeds", "import", str(FEEDS / "rss2.xml"), "--mark-seen", "--no-drafts")
    assert (code, out) == (0, "feed 1: 3 new, 0 duplicate, 0 skipped, 0 drafted, 3 marked seen\n")


def test_poll_json_polls_every_active_feed(loa):
    loa("feeds", "add", str(FEEDS / "rss2.xml"), "--no-drafts")
    loa("feeds", "add", str(FEEDS / "atom.xml"), "--no-drafts")
    loa("feeds", "poll")
    code, out, _ = loa("feeds", "poll", "--json")
    results = json.loads(out)
    assert code == 0
    assert [(r["feed"], r["new"], r["duplicate"]) for r in results] == [(1, 0, 3), (2, 0, 3)]


def test_poll_exits_1_and_explains_when_a_feed_fails(loa, tmp_path):
    path = tmp_path / "feed.xml"
    shutil.copy(FEEDS / "rss2.xml", path)
    loa("feeds", "add", str(path), "--no-drafts")
    path.unlink()
    code, out, err = loa("feeds", "poll")
    assert code == 1
    assert err == f"loa: feed 1: error: {path}: cannot read (No such file or directory)\n"


def test_user_errors_are_one_line_with_exit_code_2(loa):
    code, _, err = loa("feeds", "add", str(FEEDS / "rss2.xml"), "--channel", "nope")
    assert code == 2
    assert err.startswith("loa: error: channel: unknown channel or group 'nope' (known: ")
    code, _, err = loa("feeds", "import", "7")
    assert (code, err) == (2, "loa: error: feed 7 does not exist\n")
