"""`loa post edit`, several posts at once, date ranges, typed times, `--at next` and
`loa channels resume`, in-process on both databases with an injected clock."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from content.db import open_database, session_scope
from content.models import ChannelState, Delivery, DeliveryState
from content.queue import Queue
from scheduler.cli import common
from tests.helpers import FakeClock, loa_cli

#: Monday 23/11/2026 08:00 office time (the slots are 07:30, 11:30, 16:00, 20:00).
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def loa(db_url, engine, capsys, monkeypatch):
    """`loa` with the repository's channels.toml on a fresh, upgraded database, at NOW."""
    monkeypatch.setattr(common, "Queue", functools.partial(Queue, clock=FakeClock(NOW)))
    run = loa_cli(db_url, capsys, monkeypatch)
    run.db_url = db_url  # type: ignore[attr-defined]
    return run


def add(loa, text: str, at: str = "20/12/2026 09:00", *extra: str, who: str = "can-bo") -> int:
    code, out, err = loa(
        "--as", who, "post", "add", "--channel", "tinh-fb", "--text", text, "--at", at, *extra
    )
    assert code == 0, err
    return int(out.split()[1])


def listed(loa, *argv: str) -> list[dict]:
    code, out, err = loa("post", "list", "--json", *argv)
    assert code == 0, err
    return json.loads(out)


# ---------------------------------------------------------------------------- typed times


def test_at_takes_the_office_day_first_form(loa):
    add(loa, "Ngày trước tháng", "20/12/2026 09:00")
    add(loa, "Không năm", "21/12 9h30")
    assert [p["scheduled_at"] for p in listed(loa)] == [
        "2026-12-20T09:00:00+07:00",
        "2026-12-21T09:30:00+07:00",
    ]


def test_a_date_without_a_time_is_refused_not_midnight(loa):
    code, out, err = loa("post", "add", "--channel", "tinh-fb", "--text", "x", "--at", "20/12/2026")
    assert code == 2 and out == ""
    assert err == (
        "loa: error: at: '20/12/2026' has no time of day; add a time, e.g. 20/12/2026 09:00\n"
    )
    assert listed(loa) == []


def test_an_impossible_date_is_one_line(loa):
    code, _, err = loa(
        "post", "add", "--channel", "tinh-fb", "--text", "x", "--at", "31/02/2026 25:00"
    )
    assert code == 2 and err.count("\n") == 1
    assert "02/2026 has no day 31 and there is no hour 25" in err


def test_at_next_takes_the_next_free_slot_and_skips_a_taken_one(loa):
    add(loa, "Đã có giờ", "23/11/2026 11:30")
    first = add(loa, "Chỗ trống kế tiếp", "next")
    posts = {p["id"]: p for p in listed(loa)}
    assert posts[first]["scheduled_at"] == "2026-11-23T16:00:00+07:00"


# ---------------------------------------------------------------------------- list


def test_list_from_to_takes_office_days_inclusive_and_search_folds(loa):
    for day in ("01", "02", "03"):
        add(loa, f"Cảnh giác lừa đảo ngày {day}", f"{day}/12/2026 23:30")
    got = listed(loa, "--from", "02/12/2026", "--to", "2026-12-03")
    assert [p["text"] for p in got] == ["Cảnh giác lừa đảo ngày 02", "Cảnh giác lừa đảo ngày 03"]
    assert len(listed(loa, "--search", "LUA DAO", "--to", "01/12/2026")) == 1
    code, _, err = loa("post", "list", "--from", "03/12/2026", "--to", "01/12/2026")
    assert code == 2 and err == "loa: error: --to: --to is before --from\n"


# ---------------------------------------------------------------------------- edit


def test_edit_changes_only_what_is_given(loa):
    post = add(loa, "Bản nháp", "20/12/2026 09:00", "--campaign", "ANTT", "--tag", "a")
    code, out, err = loa("post", "edit", str(post), "--text", "Bản đã sửa", "--tag", "b")
    assert code == 0, err
    assert out == f"post {post} edited: draft, 2026-12-20 09:00\n"
    [got] = listed(loa)
    assert (got["text"], got["campaign"], got["tags"]) == ("Bản đã sửa", "ANTT", ["b"])
    assert listed(loa, "--search", "ban da sua")[0]["id"] == post


def test_edit_after_approval_returns_the_post_to_review(loa):
    post = add(loa, "Đã duyệt", "20/12/2026 09:00", "--submit")
    assert loa("--as", "truong-phong", "post", "approve", str(post))[0] == 0
    code, out, err = loa("post", "edit", str(post), "--title", "Tiêu đề mới")
    assert code == 0
    assert "edited: in review," in out
    assert err == f"warning: post {post} was edited after approval: it is back in review\n"


def test_edit_channels_and_variants(loa):
    post = add(loa, "Chung", "20/12/2026 09:00")
    code, _, err = loa(
        "post",
        "edit",
        str(post),
        "--channel",
        "facebook",
        "--variant",
        "phuong1-fb=Riêng cho phường",
    )
    assert code == 0, err
    [got] = listed(loa)
    variants = {d["channel"]: d["text_variant"] for d in got["deliveries"]}
    assert variants == {"tinh-fb": None, "phuong1-fb": "Riêng cho phường"}
    # Leaving a channel drops its own text instead of refusing the edit.
    assert loa("post", "edit", str(post), "--channel", "tinh-fb")[0] == 0
    assert [d["channel"] for d in listed(loa)[0]["deliveries"]] == ["tinh-fb"]


def test_edit_is_refused_once_the_post_is_being_sent(loa):
    post = add(loa, "Đang gửi", "20/12/2026 09:00")
    engine = open_database(loa.db_url)
    with session_scope(engine) as session:
        session.execute(update(Delivery).values(state=DeliveryState.SENDING))
    engine.dispose()
    code, out, err = loa("post", "edit", str(post), "--text", "Muộn rồi")
    assert code == 2 and out == ""
    assert err == f"loa: error: post {post} is already being sent; it can no longer change\n"


def test_edit_with_nothing_to_change_says_so(loa):
    post = add(loa, "x")
    code, _, err = loa("post", "edit", str(post))
    assert code == 2 and "nothing to change" in err


# ---------------------------------------------------------------------------- several posts


def test_approve_several_reports_each_and_names_the_refused(loa):
    mine = add(loa, "Của trưởng phòng", "20/12/2026 09:00", "--submit", who="truong-phong")
    others = [add(loa, f"Bài {i}", f"2{i}/12/2026 09:00", "--submit") for i in (1, 2)]
    code, out, err = loa(
        "--as", "truong-phong", "post", "approve", str(others[0]), str(mine), str(others[1])
    )
    assert code == 2
    assert out.splitlines() == [
        f"post {others[0]} updated: scheduled, 2026-12-21 09:00",
        f"post {others[1]} updated: scheduled, 2026-12-22 09:00",
    ]
    assert err.splitlines() == [
        f"loa: error: 1 of 3 posts refused and left unchanged: {mine}",
        f"  post {mine}: post {mine}: truong-phong wrote it and cannot approve it; "
        "the office requires a second approver",
    ]
    states = {p["id"]: p["state"] for p in listed(loa)}
    assert states == {mine: "in_review", others[0]: "scheduled", others[1]: "scheduled"}


def test_approve_a_whole_series(loa):
    code, out, _ = loa(
        "--as",
        "can-bo",
        "post",
        "add",
        "--channel",
        "tinh-fb",
        "--text",
        "Nhắc 113",
        "--at",
        "07/12/2026 07:30",
        "--repeat-days",
        "7",
        "--until",
        "28/12/2026",
        "--submit",
        "--json",
    )
    ids = [p["id"] for p in json.loads(out)["posts"]]
    assert len(ids) == 4
    code, out, err = loa("--as", "truong-phong", "post", "approve", "--series", str(ids[2]))
    assert code == 0, err
    assert len(out.splitlines()) == 4
    assert {p["state"] for p in listed(loa)} == {"scheduled"}


def test_cancel_a_campaign_leaves_other_campaigns(loa):
    a = [add(loa, f"Tết {i}", f"1{i}/12/2026 09:00", "--campaign", "Tết") for i in (1, 2)]
    other = add(loa, "Khác", "15/12/2026 09:00", "--campaign", "ANTT")
    code, out, err = loa("post", "cancel", "--campaign", "Tết", "--reason", "đổi kế hoạch")
    assert code == 0, err
    states = {p["id"]: p["state"] for p in listed(loa)}
    assert states == {a[0]: "cancelled", a[1]: "cancelled", other: "draft"}
    code, _, err = loa("post", "cancel", "--campaign", "Tết")
    assert code == 2 and "no post there can be cancelled" in err


def test_reschedule_several_to_next_gives_each_its_own_slot(loa):
    ids = [add(loa, f"Bài {i}", f"2{i}/12/2026 09:00") for i in (1, 2, 3)]
    code, out, err = loa("post", "reschedule", *map(str, ids), "--at", "next")
    assert code == 0, err
    times = {p["id"]: p["scheduled_at"] for p in listed(loa)}
    assert [times[i] for i in ids] == [
        "2026-11-23T11:30:00+07:00",
        "2026-11-23T16:00:00+07:00",
        "2026-11-23T20:00:00+07:00",
    ]


def test_one_named_post_keeps_the_one_line_error(loa):
    code, out, err = loa("post", "approve", "99")
    assert code == 2 and out == ""
    assert err == "loa: error: post 99 does not exist\n"


# ---------------------------------------------------------------------------- channels


def test_channels_resume(loa):
    add(loa, "x")  # the database exists and is upgraded
    engine = open_database(loa.db_url)
    with session_scope(engine) as session:
        session.add(
            ChannelState(
                channel="tinh-fb", paused=True, paused_reason="token expired", updated_at=NOW
            )
        )
    code, out, _ = loa("channels", "resume", "tinh-fb")
    assert code == 0
    assert out.startswith("channel tinh-fb resumed (it was paused: token expired)")
    with session_scope(engine, write=False) as session:
        assert session.get(ChannelState, "tinh-fb").paused is False
    engine.dispose()
    assert (
        loa("channels", "resume", "tinh-fb")[1] == "channel tinh-fb is not paused; nothing to do\n"
    )
    code, _, err = loa("channels", "resume", "khong-co")
    assert code == 2 and err.startswith("loa: error: no channel 'khong-co' in channels.toml")


# ---------------------------------------------------------------------------- terminal safety


def test_escapes_are_dropped_from_posts_and_shown_not_obeyed_when_printed(loa):
    # A feed title can carry escapes that recolour or retitle the officer's terminal: the
    # queue keeps them out of a post, newlines and tabs stay.
    post = add(loa, "Tin \x1b[31mĐỎ\x1b[0m \x1b]0;hacked\x07xong\r\n\tdòng hai")
    assert listed(loa)[0]["text"] == "Tin ĐỎ xong\n\tdòng hai"
    # What comes from elsewhere (a platform's error, a row written before) is printed with
    # its control characters as symbols.
    engine = open_database(loa.db_url)
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post)
            .values(state=DeliveryState.FAILED, last_error_message="bad \x1b[2J\x1b]0;x\x07 id")
        )
    engine.dispose()
    code, out, _ = loa("post", "show", str(post))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "bad ␛[2J␛]0;x␇ id" in out
    assert "\n\tdòng hai" in out
