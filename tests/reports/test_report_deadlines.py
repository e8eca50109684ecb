"""Filing-deadline reminders: mailed once per deadline, with the draft report attached, over
the whole reminder window, across restarts and with two daemons racing on one database."""

from __future__ import annotations

import email
import email.policy
import io
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger
from docx import Document
from sqlmodel import Session, select

from content.db import open_database
from content.models import JobRun
from scheduler.config import Reporting, load
from scheduler.mail import Mailer
from scheduler.report_deadlines import JOB, RETRY_AFTER, due, send_due_reminders
from tests.helpers import HCM

OFFICE = """\
[office]
name = "Công an tỉnh Demo"
timezone = "Asia/Ho_Chi_Minh"

[channels.tinh-fb]
kind = "facebook"
name = "Công an tỉnh Demo (Facebook)"
page_id = "100000000000001"
token = {{ env = "FB_TOKEN" }}

[channels.p1-fb]
kind = "facebook"
name = "Công an phường 1 (Facebook)"
page_id = "100000000000002"
token = {{ env = "FB_TOKEN" }}

[units.tinh]
name = "Công an tỉnh Demo"
channels = ["tinh-fb"]

[units.p1]
name = "Công an phường 1"
parent = "tinh"
channels = ["p1-fb"]

[targets]
posts_per_week = 3

[reporting]
deadlines = ["09-05", "10-25"]
remind_days = 7
issuer = "CÔNG AN TỈNH DEMO"
place = "Demo"
symbol = "BC-CAT"
signer_title = "GIÁM ĐỐC"

[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "loa@congan.example.vn"
to = ["giamdoc@congan.example.vn"]
"""


def at(day: str, hour: int = 8) -> datetime:
    """Office time on ``day`` (ISO date) at ``hour``, as the daemon's UTC clock reads it."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=HCM).astimezone(UTC)


@pytest.fixture
def office(tmp_path: Path, smtp):
    path = tmp_path / "channels.toml"
    path.write_text(OFFICE.format(port=smtp.port), encoding="utf-8")
    return load(path)


@pytest.fixture
def mailer(office) -> Mailer:
    return Mailer(office.email, sleep=lambda _s: None)


def _messages(smtp):
    return [
        email.message_from_bytes(e.content, policy=email.policy.default) for e in smtp.envelopes
    ]


def test_the_reminder_window_and_the_draft_span():
    reporting = Reporting(deadlines=["09-05", "10-25"], remind_days=7)
    assert due(reporting, date(2026, 8, 28), HCM) == []
    (first,) = due(reporting, date(2026, 8, 29), HCM)
    # The draft covers the days after the previous deadline (last year's 10-25) to yesterday.
    assert (first.key, first.span.first_day, first.span.last_day) == (
        "2026-09-05",
        date(2025, 10, 26),
        date(2026, 8, 28),
    )
    assert [d.key for d in due(reporting, date(2026, 9, 5), HCM)] == ["2026-09-05"]
    assert due(reporting, date(2026, 9, 6), HCM) == []
    (second,) = due(reporting, date(2026, 10, 18), HCM)
    assert (second.span.first_day, second.span.last_day) == (date(2026, 9, 6), date(2026, 10, 17))
    # Across the new year, with one deadline: the same day a year earlier starts the draft.
    (january,) = due(Reporting(deadlines=["01-10"], remind_days=14), date(2025, 12, 30), HCM)
    assert (january.key, january.span.first_day) == ("2026-01-10", date(2025, 1, 11))


def test_each_deadline_is_mailed_once_with_the_draft(engine, office, smtp, mailer):
    # Every six hours from late August to November, as a daemon that never stops would.
    moment = at("2026-08-20", 1)
    sent = []
    while moment < at("2026-11-01"):
        sent += send_due_reminders(engine, office, moment, worker="daemon-1", mailer=mailer)
        moment += timedelta(hours=6)
    assert sent == ["2026-09-05", "2026-10-25"]
    first, second = _messages(smtp)
    assert first["Subject"] == (
        "[Loa] Hạn báo cáo 05/09/2026: dự thảo báo cáo kèm theo — Công an tỉnh Demo"
    )
    # Sent on the first day of the window, with the days left said.
    assert "(còn 7 ngày)" in first.get_body(("plain",)).get_content()
    (attachment,) = first.iter_attachments()
    assert attachment.get_filename() == "du-thao-bao-cao-2026-09-05.docx"
    draft = Document(io.BytesIO(attachment.get_content()))
    texts = [p.text for p in draft.paragraphs]
    assert "BÁO CÁO" in texts
    assert "(Từ ngày 26/10/2025 đến ngày 28/08/2026)" in texts
    (attachment,) = second.iter_attachments()
    assert "(Từ ngày 06/09/2026 đến ngày 17/10/2026)" in [
        p.text for p in Document(io.BytesIO(attachment.get_content())).paragraphs
    ]
    # The next year's deadlines are reminded again.
    assert send_due_reminders(engine, office, at("2027-08-30"), worker="d", mailer=mailer) == [
        "2027-09-05"
    ]


def test_a_refused_reminder_is_tried_again_later_and_sent_once(engine, office, smtp, mailer):
    smtp.sink.refuse = 1
    smtp.sink.answer = "554 5.7.1 Message rejected"
    assert send_due_reminders(engine, office, at("2026-08-30"), worker="d1", mailer=mailer) == []
    with Session(engine) as session:
        (run,) = session.exec(select(JobRun).where(JobRun.job == JOB)).all()
    assert run.finished_at is None and run.detail.startswith("failed: ")
    # Another daemon, before the retry delay: the failed attempt is not doubled.
    soon = at("2026-08-30") + RETRY_AFTER / 2
    assert send_due_reminders(engine, office, soon, worker="d2", mailer=mailer) == []
    later = at("2026-08-30") + RETRY_AFTER
    assert send_due_reminders(engine, office, later, worker="d2", mailer=mailer) == ["2026-09-05"]
    assert send_due_reminders(engine, office, at("2026-09-01"), worker="d1", mailer=mailer) == []
    assert len(smtp.envelopes) == 1


def test_two_daemons_racing_send_each_reminder_once(db_url, office, smtp):
    # Two daemons: each its own engine (its own connections, as two processes have).
    engines = [open_database(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[list[str]] = []

    def daemon(index: int, moment: datetime) -> None:
        mailer = Mailer(office.email, sleep=lambda _s: None)
        barrier.wait()
        results.append(
            send_due_reminders(engines[index], office, moment, worker=f"d{index}", mailer=mailer)
        )

    try:
        for moment in (at("2026-08-29"), at("2026-08-29", 9), at("2026-10-20")):
            threads = [threading.Thread(target=daemon, args=(i, moment)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        for one in engines:
            one.dispose()
    assert sorted(key for keys in results for key in keys) == ["2026-09-05", "2026-10-25"]
    assert len(smtp.envelopes) == 2


def test_the_daemon_looks_for_due_reminders_every_office_hour(office, tmp_path, monkeypatch):
    from scheduler.runtime import build_daemon

    monkeypatch.setenv("FB_TOKEN", "test-token")
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    daemon = build_daemon(office, engine)
    trigger, _job = daemon.periodic["report_deadlines"]
    assert isinstance(trigger, CronTrigger)
    fires = trigger.get_next_fire_time(None, at("2026-08-29", 6))
    assert fires is not None and fires.astimezone(HCM).hour == 7
    engine.dispose()
