"""`loa` end to end, in-process: what a user types and what they see."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from scheduler.cli import main
from tests.helpers import loa_cli


@pytest.fixture
def loa(db_url, engine, capsys, monkeypatch):
    """Run `loa` with the repository's channels.toml on a fresh, upgraded database (the
    upgrade itself: ``test_db_upgrade_twice``)."""
    return loa_cli(db_url, capsys, monkeypatch)


def test_version():
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0


def test_add_json_round_trips_through_list_json_in_office_time(loa):
    code, out, err = loa(
        "post",
        "add",
        "--channel",
        "tinh-fb",
        "--channel",
        "zalo",
        "--title",
        "Cảnh giác lừa đảo",
        "--text",
        "Không chuyển tiền cho người lạ",
        "--at",
        "2030-01-02 09:00",
        "--json",
    )
    assert code == 0, err
    added = json.loads(out)["posts"][0]
    code, out, _ = loa("post", "list", "--json")
    listed = json.loads(out)
    assert listed == [added]
    assert added["scheduled_at"] == "2030-01-02T09:00:00+07:00"
    assert [d["channel"] for d in added["deliveries"]] == ["tinh-fb", "tinh-zalo", "phuong1-zalo"]


def test_as_sets_the_author_and_the_approver(loa):
    loa(
        "--as",
        "can-bo",
        "post",
        "add",
        "--channel",
        "tinh-fb",
        "--text",
        "Tin mới",
        "--at",
        "2030-01-02 09:00",
        "--submit",
    )
    code, _, err = loa("--as", "can-bo", "post", "approve", "1")
    assert code == 2
    assert err == (
        "loa: error: post 1: can-bo wrote it and cannot approve it; "
        "the office requires a second approver\n"
    )
    code, out, _ = loa("post", "approve", "1", "--as", "truong-phong", "--json")
    post = json.loads(out)["posts"][0]
    assert (post["author"], post["approved_by"], post["state"]) == (
        "can-bo",
        "truong-phong",
        "scheduled",
    )


def test_a_bad_time_is_one_line_on_stderr_and_exit_2(loa):
    code, out, err = loa("post", "add", "--channel", "tinh-fb", "--text", "x", "--at", "mai")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "at: 'mai' is not a time" in err


def test_a_bad_flag_is_one_line_and_exit_2(loa):
    with pytest.raises(SystemExit) as exit_:
        loa("post", "list", "--state", "published")
    assert exit_.value.code == 2


def test_warnings_go_to_stderr_and_the_post_is_still_created(loa):
    loa("post", "add", "--channel", "tinh-fb", "--text", "Bài A", "--at", "2030-01-02 09:00")
    code, out, err = loa(
        "post", "add", "--channel", "tinh-fb", "--text", "Bài B", "--at", "2030-01-02 09:10"
    )
    assert code == 0
    assert out.startswith("post 2 created")
    assert err.startswith("warning: tinh-fb already has post 1")


def test_cancel_and_show(loa):
    loa("post", "add", "--channel", "tinh-fb", "--text", "Huỷ tôi", "--at", "2030-01-02 09:00")
    assert loa("post", "cancel", "1")[0] == 0
    code, out, _ = loa("post", "show", "1")
    assert "cancelled" in out.splitlines()[0]
    assert out.rstrip().endswith("root: cancelled")


def test_weekly_repeat_from_the_command_line(loa):
    code, out, _ = loa(
        "post",
        "add",
        "--channel",
        "tinh-fb",
        "--text",
        "Nhắc đường dây nóng 113",
        "--at",
        "2030-01-07 07:30",
        "--repeat-weekdays",
        "mon,fri",
        "--until",
        "2030-01-18",
        "--json",
    )
    times = [p["scheduled_at"] for p in json.loads(out)["posts"]]
    assert times == [
        "2030-01-07T07:30:00+07:00",
        "2030-01-11T07:30:00+07:00",
        "2030-01-14T07:30:00+07:00",
        "2030-01-18T07:30:00+07:00",
    ]


CSV_HEADER = "at,channels,title,text,campaign\n"


def test_a_vietnamese_office_reads_the_post_commands_in_vietnamese(loa, monkeypatch, tmp_path):
    # The office's language (LOA_LANG unset: Vietnamese by default): what an officer reads
    # after adding, approving, listing, showing and importing, states and actions included.
    monkeypatch.delenv("LOA_LANG")
    code, out, err = loa(
        "post", "add", "--channel", "tinh-fb", "--title", "Cảnh giác", "--text", "Gọi 113.",
        "--at", "2030-01-02 09:00", "--submit",
    )  # fmt: skip
    # Times as the office writes them (and as --at takes them back).
    assert (code, out) == (0, "bài 1 đã tạo: chờ duyệt, 02/01/2030 09:00\n"), err
    assert loa("--as", "lan", "post", "approve", "1")[1] == (
        "bài 1 đã cập nhật: đã hẹn giờ, 02/01/2030 09:00\n"
    )
    code, out, _ = loa("post", "list")
    assert "đã hẹn giờ" in out and "tinh-fb:đang chờ" in out and "scheduled" not in out
    code, out, _ = loa("post", "show", "1")
    assert out.splitlines()[:4] == [
        "bài 1  đã hẹn giờ  02/01/2030 09:00  người soạn: root",
        "tiêu đề: Cảnh giác",
        "Gọi 113.",
        "  tinh-fb: đang chờ (0 lần gửi)",
    ]
    assert out.splitlines()[-1].endswith("lan: đã duyệt")
    sheet = tmp_path / "thang1.csv"
    sheet.write_text(CSV_HEADER + "2030-01-03 09:00,tinh-fb,,Bài ngày 3,ANTT\n", encoding="utf-8")
    assert loa("post", "import", str(sheet))[1] == f"{sheet}: đã nhập 1 bài\n"
    assert loa("post", "list", "--campaign", "khong-co")[1] == "không có bài nào\n"


def test_csv_import_creates_every_row(loa, tmp_path: Path):
    sheet = tmp_path / "thang1.csv"
    sheet.write_text(
        CSV_HEADER
        + '2030-01-02 09:00,tinh-fb,,"Phòng chống lừa đảo, ngày 1",ANTT\n'
        + "2030-01-03 09:00,all,Ngày 2,Phòng chống lừa đảo ngày 2,ANTT\n",
        encoding="utf-8",
    )
    code, out, err = loa("post", "import", str(sheet))
    assert code == 0, err
    assert out == f"{sheet}: 2 posts imported\n"
    _, listed, _ = loa("post", "list", "--json")
    assert [p["campaign"] for p in json.loads(listed)] == ["ANTT", "ANTT"]


def test_csv_import_with_a_bad_row_writes_nothing_and_names_row_and_column(loa, tmp_path):
    sheet = tmp_path / "thang1.csv"
    sheet.write_text(
        CSV_HEADER
        + "2030-01-02 09:00,tinh-fb,,Ngày 1,ANTT\n"
        + "2030-01-03 09:00,tinh-zalo,,Ngày 2 thiếu tiêu đề,ANTT\n"
        + "hôm qua,tinh-fb,,Ngày 3,ANTT\n",
        encoding="utf-8",
    )
    code, _, err = loa("post", "import", str(sheet))
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == f"loa: error: {sheet}: nothing imported (2 errors)"
    assert lines[1].startswith(
        f"  {sheet}: row 3, column 'title': tinh-zalo (zalo_oa) needs a title"
    )
    assert lines[2].startswith(f"  {sheet}: row 4, column 'at': 'hôm qua' is not a time")
    _, listed, _ = loa("post", "list", "--json")
    assert json.loads(listed) == []


def test_csv_dry_run_writes_nothing(loa, tmp_path):
    sheet = tmp_path / "t.csv"
    sheet.write_text(CSV_HEADER + "2030-01-02 09:00,tinh-fb,,Ngày 1,\n", encoding="utf-8")
    code, out, _ = loa("post", "import", str(sheet), "--dry-run")
    assert code == 0 and "nothing written" in out
    assert json.loads(loa("post", "list", "--json")[1]) == []


def test_export_csv_covers_the_office_days_asked_for(loa):
    for day in ("01", "02", "03"):
        loa(
            "post",
            "add",
            "--channel",
            "tinh-fb",
            "--text",
            f"Ngày {day}",
            "--at",
            f"2030-01-{day} 23:30",
        )
    code, out, _ = loa("post", "export", "--from", "2030-01-02", "--to", "2030-01-02")
    lines = out.splitlines()
    assert lines[0] == (
        "\ufeffid,state,at,channels,title,text,link,campaign,tags,images,author,deliveries"
    )
    assert len(lines) == 2 and "2030-01-02 23:30" in lines[1] and "Ngày 02" in lines[1]


def test_an_export_can_be_imported_again(loa, tmp_path):
    loa(
        "post", "add", "--channel", "tinh-fb", "--text", "Xuất rồi nhập", "--at", "2030-01-02 09:00"
    )
    sheet = tmp_path / "export.csv"
    loa("post", "export", "-o", str(sheet))
    # The same posts again are noticed and skipped; the office says when it means it.
    code, out, err = loa("post", "import", str(sheet))
    assert code == 0, err
    assert out == f"{sheet}: 0 posts imported; 1 already queued, skipped\n"
    code, out, err = loa("post", "import", str(sheet), "--keep-duplicates")
    assert code == 0, err
    assert len(json.loads(loa("post", "list", "--json")[1])) == 2


def test_channels_list_never_shows_secret_values(loa, monkeypatch):
    monkeypatch.setenv("LOA_TOKEN_TINH_FB", "EAAB-very-secret")
    code, out, _ = loa("channels", "list", "--json")
    data = json.loads(out)
    assert code == 0 and "EAAB-very-secret" not in out
    assert data["channels"][0]["secret"] == "env LOA_TOKEN_TINH_FB"
    assert data["groups"]["wards"] == ["phuong1-fb", "phuong1-zalo"]


def test_db_upgrade_twice(db_url, capsys, monkeypatch):
    loa = loa_cli(db_url, capsys, monkeypatch)  # on an empty database
    code, out, _ = loa("db", "upgrade")
    assert code == 0 and "upgraded from an empty database" in out
    code, out, _ = loa("db", "upgrade")
    assert "already at revision" in out


def test_status_counts_waiting_late_and_paused_channels(loa, db_url, monkeypatch):
    from datetime import UTC, datetime

    from content.db import open_database
    from content.models import ChannelState

    loa("post", "add", "--channel", "tinh-fb", "--text", "Nháp", "--at", "2030-01-02 08:00")
    loa(
        "--as",
        "can-bo",
        "post",
        "add",
        "--channel",
        "tinh-fb",
        "--text",
        "Chờ đăng",
        "--at",
        "2030-01-02 09:00",
        "--submit",
    )
    loa("--as", "truong-phong", "post", "approve", "2")
    engine = open_database(db_url)
    from sqlmodel import Session

    with Session(engine) as session:
        session.add(
            ChannelState(
                channel="tinh-zalo",
                paused=True,
                paused_reason="-216 Access token is invalid",
                updated_at=datetime.now(UTC),
            )
        )
        session.commit()
    code, out, _ = loa("status", "--json")
    data = json.loads(out)
    # A post waits with no daemon and a channel is paused: monitoring must hear of it.
    assert code == 1
    assert (data["waiting"], data["due_now"], data["late"]) == (1, 0, 0)
    zalo = next(c for c in data["channels"] if c["channel"] == "tinh-zalo")
    assert zalo["paused"] and zalo["paused_reason"] == "-216 Access token is invalid"
    assert data["healthy"] is False
    assert data["problems"] == [
        {"code": "no_daemon", "since": None, "waiting": 1},
        {"code": "paused", "channels": ["tinh-zalo"]},
    ]
    code, out, _ = loa("status")
    assert code == 1
    assert "tinh-zalo        PAUSED: -216 Access token is invalid" in out
    assert "NO DAEMON RUNNING" in out
    assert "PAUSED tinh-zalo: posts wait" in out
    # The same in a Vietnamese office's words (the exit code is the monitor's signal).
    monkeypatch.delenv("LOA_LANG")
    code, out, _ = loa("status")
    assert code == 1
    assert out.splitlines()[0] == (
        "đang chờ 1, đến giờ 0, trễ 0, đang gửi 0, lỗi 0, cần kiểm tra 0"
    )
    assert "tinh-zalo        TẠM DỪNG: -216 Access token is invalid" in out
    assert "KHÔNG CÓ TIẾN TRÌNH NỀN: " in out and "TẠM DỪNG tinh-zalo: " in out


def test_status_names_the_running_daemons(loa, db_url):
    from content.db import open_database
    from scheduler.dispatch import Dispatcher

    engine = open_database(db_url)
    for worker in ("server1:100", "server2:200"):
        Dispatcher(engine, {}, None, worker=worker).beat()  # type: ignore[arg-type]
    code, out, _ = loa("status", "--json")
    assert {d["worker"]: d["alive"] for d in json.loads(out)["daemons"]} == {
        "server1:100": True,
        "server2:200": True,
    }
    assert code == 0 and json.loads(out)["healthy"] is True
    code, out, _ = loa("status")
    assert "daemons: server" in out and "NO DAEMON RUNNING" not in out
    assert code == 0


def test_status_exits_0_on_an_empty_queue_without_a_daemon(loa):
    code, out, _ = loa("status")
    assert code == 0
    assert "daemons: none running (nothing is waiting for one)" in out
    assert "NO DAEMON RUNNING" not in out


def test_status_exits_1_and_names_a_late_post_even_with_a_daemon_running(loa, db_url):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from content.db import open_database, session_scope
    from content.models import Delivery, Post
    from scheduler.dispatch import Dispatcher

    loa("--as", "can-bo", "post", "add", "--channel", "tinh-fb", "--text", "Trễ",
        "--at", "2030-01-02 09:00", "--submit")  # fmt: skip
    loa("--as", "truong-phong", "post", "approve", "1")
    engine = open_database(db_url)
    # Due ten minutes ago; its retry was pushed into the future, which must not hide it.
    due = datetime.now(UTC) - timedelta(minutes=10)
    with session_scope(engine) as session:
        session.execute(update(Post).values(scheduled_at=due))
        session.execute(update(Delivery).values(next_attempt_at=due + timedelta(hours=1)))
    Dispatcher(engine, {}, None, worker="server1:100").beat()  # type: ignore[arg-type]
    engine.dispose()
    code, out, _ = loa("status")
    assert code == 1
    assert "LATE 1: deliveries (1 post) more than 1 min past their time, not published" in out
    assert "NO DAEMON RUNNING" not in out
    code, out, _ = loa("status", "--json")
    assert code == 1
    assert json.loads(out)["problems"] == [{"code": "late", "n": 1, "posts": 1}]


def test_the_daemon_log_has_no_line_per_http_request_or_poll_unless_debugging():
    from scheduler.cli.daemon import configure_logging

    # APScheduler's executor logs "Running job" through apscheduler.executors.default.
    logs = [logging.getLogger(n) for n in ("httpx", "apscheduler.executors")]
    original = [log.level for log in logs]
    try:
        configure_logging("info")
        assert [log.level for log in logs] == [logging.WARNING, logging.WARNING]
        assert not logging.getLogger("apscheduler.executors.default").isEnabledFor(logging.INFO)
        configure_logging("debug")
        assert [log.level for log in logs] == [logging.NOTSET, logging.NOTSET]
    finally:
        for log, level in zip(logs, original, strict=True):
            log.setLevel(level)  # setLevel, not an assignment: it clears the level caches
