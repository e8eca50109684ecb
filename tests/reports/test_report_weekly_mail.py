"""The weekly job over a real SMTP server (aiosmtpd on 127.0.0.1): content, once per week,
retries on 4xx answers, and login without ever logging the password."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import logging
import re
from datetime import UTC

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import Session, select

from content.errors import LoaError
from content.models import Delivery, DeliveryState, JobRun, MetricSample
from content.queue import PostInput
from scheduler.config import load
from scheduler.mail import Mailer, MailError
from scheduler.report import RETRY_AFTER, build_weekly, send_weekly, send_weekly_if_due
from scheduler.report_html import BUILTIN
from tests.helpers import local
from tests.reports.conftest import (
    CC,
    TO,
    WEEK,
    WEEK_END,
    WEEK_START,
    Sink,
    free_port,
    permalink_of,
)
from tests.reports.expected import expected_rows

BACKOFF = [5.0, 30.0, 120.0]


@pytest.fixture
def sleeps() -> list[float]:
    """The pauses the mailer asked for (it never really sleeps in tests)."""
    return []


@pytest.fixture
def mailer(config, sleeps) -> Mailer:
    return Mailer(config.email, sleep=sleeps.append)


def _received(smtp, index: int = 0):
    envelope = smtp.envelopes[index]
    return envelope, email.message_from_bytes(envelope.content, policy=email.policy.default)


def test_the_weekly_job_mails_the_summary(engine, config, dataset, smtp, clock, mailer):
    assert send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)

    assert len(smtp.envelopes) == 1
    envelope, message = _received(smtp)
    assert sorted(envelope.rcpt_tos) == sorted(TO + CC)
    assert envelope.mail_from == "loa@congan.example.vn"
    assert [a.addr_spec for a in message["To"].addresses] == TO
    assert [a.addr_spec for a in message["Cc"].addresses] == CC

    # A Vietnamese subject travels RFC 2047-encoded and decodes back intact.
    raw_subject = re.search(rb"^Subject: (.*(?:\r?\n[ \t].*)*)", envelope.content, re.M)
    assert raw_subject and b"=?utf-8?" in raw_subject.group(1).lower()
    assert message["Subject"] == "Báo cáo tuần 2026-W47 — Công an tỉnh Demo"

    # multipart/alternative: the text part and the HTML part.
    alternative = next(p for p in message.walk() if p.get_content_type() == "multipart/alternative")
    kinds = [p.get_content_type() for p in alternative.iter_parts()]
    assert kinds == ["text/plain", "multipart/related"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Báo cáo tương tác tuần 2026-W47" in text and "Tỷ lệ tương tác" in text
    # Dates and times as a Vietnamese office writes them, day first (the CSV keeps ISO).
    assert "Từ 16/11/2026 đến 22/11/2026 (giờ Asia/Ho_Chi_Minh)" in text
    assert re.search(r"\b\d\d/11/2026 \d\d:\d\d\b", text) and "2026-11-1" not in text
    assert "<table" in html and "Năm bài nổi bật" in html
    assert "<link" not in html and "<script" not in html and "http://" not in html.split("<a ")[0]

    # The chart: an image/png part whose Content-ID the HTML references.
    cid = re.search(r'src="cid:([^"]+)"', html).group(1)
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content().startswith(b"\x89PNG\r\n\x1a\n")

    # The top five carry their permalinks.
    expected = expected_rows(WEEK_START, WEEK_END)
    top = sorted(expected, key=lambda r: (-r["engagement"], -r["views"]))[:5]
    for row in top:
        assert permalink_of(row["pub"], dataset) in html
        assert permalink_of(row["pub"], dataset) in text

    # The CSV: one row per publication, with the figures of the independent computation.
    attachment = next(message.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename() == "loa-2026-W47.csv"
    table = list(csv.reader(io.StringIO(attachment.get_content().lstrip("\ufeff"))))
    header, lines = table[0], table[1:]
    assert header[:3] == ["Tuần", "Mã bài", "Kênh"]
    column = {name: header.index(label) for name, label in _CSV_LABELS.items()}
    got = {
        (int(line[column["post"]]), line[column["channel"]]): {
            name: float(line[column[name]]) for name in _METRICS
        }
        for line in lines
    }
    want = {
        (dataset.post_ids[r["pub"].post], r["pub"].channel): {n: r[n] for n in _METRICS}
        for r in expected
    }
    assert got == want
    assert all(line[0] == WEEK for line in lines)


_METRICS = ("views", "reach", "reactions", "comments", "shares", "clicks", "engagement")
_CSV_LABELS = {
    "post": "Mã bài",
    "channel": "Kênh",
    "views": "Lượt xem",
    "reach": "Tiếp cận",
    "reactions": "Cảm xúc",
    "comments": "Bình luận",
    "shares": "Chia sẻ",
    "clicks": "Lượt nhấp",
    "engagement": "Tương tác",
}


def test_sending_twice_for_the_same_week_sends_once(engine, config, dataset, smtp, clock, mailer):
    assert send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    # Another daemon, later the same week, and the first one again after a restart.
    clock.advance(hours=5)
    assert not send_weekly_if_due(engine, config, clock.now, worker="daemon-2", mailer=mailer)
    clock.advance(days=2)
    assert not send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    assert len(smtp.envelopes) == 1
    with Session(engine) as session:
        run = session.exec(select(JobRun).where(JobRun.job == "weekly_report")).one()
    assert (run.key, run.worker, run.finished_at is not None) == (WEEK, "daemon-1", True)


def test_a_4xx_answer_is_retried_then_reported_and_retried_later(
    engine, config, dataset, smtp, clock, mailer, sleeps
):
    smtp.sink.refuse = 100
    with pytest.raises(LoaError) as error:
        send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    message = str(error.value)
    assert "\n" not in message
    assert f"127.0.0.1:{smtp.port}" in message
    assert "451 4.3.0 Mailbox temporarily unavailable, try later" in message
    assert smtp.sink.attempts == 4 and sleeps == BACKOFF
    with Session(engine) as session:
        run = session.exec(select(JobRun)).one()
    assert run.finished_at is None and "451 4.3.0" in (run.detail or "")

    # Soon after, the failed week is left alone; once RETRY_AFTER has passed it is retried.
    smtp.sink.refuse = 0
    clock.advance(minutes=5)
    assert not send_weekly_if_due(engine, config, clock.now, worker="daemon-2", mailer=mailer)
    assert smtp.sink.attempts == 4
    clock.advance(seconds=RETRY_AFTER.total_seconds())
    assert send_weekly_if_due(engine, config, clock.now, worker="daemon-2", mailer=mailer)
    assert len(smtp.envelopes) == 1
    assert not send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)


def test_a_passing_4xx_costs_only_a_pause(engine, config, dataset, smtp, clock, mailer, sleeps):
    smtp.sink.refuse = 2
    assert send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    assert sleeps == BACKOFF[:2] and len(smtp.envelopes) == 1


def test_a_5xx_answer_is_not_retried(engine, config, dataset, smtp, clock, mailer, sleeps):
    smtp.sink.refuse = 1
    smtp.sink.answer = "554 5.7.1 Message rejected as spam"
    with pytest.raises(MailError, match="554 5.7.1 Message rejected as spam"):
        send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    assert sleeps == [] and smtp.sink.attempts == 1


def test_a_server_that_is_down_is_named(engine, make_config, dataset, clock, sleeps):
    config = make_config(free_port())
    mailer = Mailer(config.email, sleep=sleeps.append, attempts=2)
    with pytest.raises(MailError, match=r"SMTP server 127\.0\.0\.1:\d+ .*ConnectionRefusedError"):
        send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    assert sleeps == BACKOFF[:1]


def test_an_english_office_gets_english(engine, make_config, dataset, smtp, clock, sleeps):
    config = make_config(smtp.port, language="en")
    send_weekly_if_due(engine, config, clock.now, worker="d", mailer=Mailer(config.email))
    _, message = _received(smtp)
    assert message["Subject"] == "Weekly report 2026-W47 — Công an tỉnh Demo"
    assert "Top five posts" in message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "From 2026-11-16 to 2026-11-22 (Asia/Ho_Chi_Minh time)" in text


def test_a_week_not_yet_ended_needs_force(engine, config, dataset, smtp, clock, mailer):
    with pytest.raises(LoaError, match="has not ended yet"):
        send_weekly(engine, config, "2026-W48", clock.now, worker="cli", mailer=mailer)
    assert send_weekly(
        engine, config, "2026-W48", clock.now, worker="cli", force=True, mailer=mailer
    )
    assert len(smtp.envelopes) == 1


def test_without_an_email_table_nothing_is_sent(engine, dataset, clock, tmp_path):
    from scheduler.config import load
    from tests.reports.conftest import OFFICE_TOML

    text = OFFICE_TOML.split("[email]")[0].format(language="vi", alert_recipients="[]")
    path = tmp_path / "no-email.toml"
    path.write_text(text, encoding="utf-8")
    assert not send_weekly_if_due(engine, load(path), clock.now, worker="d")


# ---------------------------------------------------------------------- login

PASSWORD = "Bi-Mat-42-xyz"


@pytest.fixture
def auth_smtp():
    """A sink that demands a login (over plain SMTP, which only a test server allows)."""

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"loa"
            and auth_data.password == PASSWORD.encode()
        )
        logins.append(ok)
        # handled=False: let aiosmtpd answer 535 itself (handled=True would stay silent).
        return AuthResult(success=ok, handled=False)

    logins: list[bool] = []
    sink = Sink()
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield port, sink, logins
    finally:
        controller.stop()


def test_login_uses_the_secret_and_never_logs_it(
    engine, make_config, dataset, auth_smtp, clock, caplog
):
    port, sink, logins = auth_smtp
    extra = 'user = "loa"\npassword = { env = "LOA_SMTP_PASSWORD" }'
    config = make_config(port, email_extra=extra)
    caplog.set_level(logging.DEBUG)
    good = Mailer(config.email, environ={"LOA_SMTP_PASSWORD": PASSWORD}, sleep=lambda s: None)
    assert send_weekly_if_due(engine, config, clock.now, worker="d", mailer=good)
    assert len(sink.envelopes) == 1 and logins == [True]

    bad = Mailer(config.email, environ={"LOA_SMTP_PASSWORD": "sai-" + PASSWORD}, sleep=print)
    with pytest.raises(MailError) as error:
        send_weekly(engine, config, WEEK, clock.now, worker="d", force=True, mailer=bad)
    assert "refused the login of 'loa'" in str(error.value) and "535" in str(error.value)
    assert PASSWORD not in str(error.value)
    assert PASSWORD not in caplog.text

    # smtplib sends passwords as ASCII only: say so, without the password.
    odd = Mailer(config.email, environ={"LOA_SMTP_PASSWORD": "mật-khẩu"}, sleep=print)
    with pytest.raises(MailError, match="not ASCII") as error:
        send_weekly(engine, config, WEEK, clock.now, worker="d", force=True, mailer=odd)
    assert "mật-khẩu" not in str(error.value)


def test_daemons_racing_for_the_same_week_send_once(engine, config, dataset, smtp, clock):
    import threading

    barrier = threading.Barrier(4)
    results: list[bool] = []

    def daemon(name: str) -> None:
        barrier.wait()
        results.append(send_weekly_if_due(engine, config, clock.now, worker=name))

    threads = [threading.Thread(target=daemon, args=(f"daemon-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert len(smtp.envelopes) == 1


def test_a_forced_partial_week_does_not_stop_the_full_summary(
    engine, config, dataset, smtp, clock, mailer
):
    send_weekly(engine, config, "2026-W48", clock.now, worker="cli", force=True, mailer=mailer)
    clock.advance(days=7)
    assert send_weekly_if_due(engine, config, clock.now, worker="daemon-1", mailer=mailer)
    assert len(smtp.envelopes) == 2


def test_a_password_is_never_sent_in_clear_to_another_host(make_config, sleeps):
    extra = 'user = "loa"\npassword = { env = "LOA_SMTP_PASSWORD" }'
    config = make_config(2525, email_extra=extra)
    settings = config.email.model_copy(update={"host": "mail.congan.example.vn"})
    mailer = Mailer(settings, environ={"LOA_SMTP_PASSWORD": PASSWORD}, sleep=sleeps.append)
    # Connecting is not even attempted: the refusal comes from the settings alone.
    with pytest.raises(MailError, match="without encryption"):
        mailer._login(None)  # type: ignore[arg-type]


def test_a_post_text_with_markup_is_escaped_in_the_weekly_mail(engine, make_queue, config, dataset):
    """A post whose text (its title in the mail) carries a <script> shows it as text."""
    author, chief = make_queue("officer"), make_queue("chief")
    text = '<script>alert("x")</script> & <b>bold</b>'
    post = author.create(PostInput(text=text, channels=["tinh-fb"]), submit=True).post
    chief.approve(post.id)
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
        delivery.state = DeliveryState.PUBLISHED
        delivery.published_at = local("2026-11-18 08:00").astimezone(UTC)
        delivery.permalink = 'https://example.vn/p?a=1&b="2"'
        session.add(delivery)
        # The week's top post by engagement, so its title is in the table.
        session.add_all(
            MetricSample(
                delivery_id=delivery.id,
                collected_at=local("2026-11-18 09:00").astimezone(UTC),
                name=name,
                value=value,
            )
            for name, value in (("views", 100000.0), ("reactions", 50000.0))
        )
        session.commit()

    html = build_weekly(engine, config, WEEK).html

    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert 'href="https://example.vn/p?a=1&amp;b=&#34;2&#34;"' in html


def test_an_office_restyles_the_mail_with_its_own_templates(engine, make_config, dataset, smtp):
    """[reporting] templates: the office's copy of mail.html replaces Loa's; the other
    templates (weekly.html) still come from Loa."""
    config = make_config(smtp.port)
    folder = config.path.parent / "mine"
    folder.mkdir()
    builtin = (BUILTIN / "mail.html").read_text(encoding="utf-8")
    (folder / "mail.html").write_text(builtin.replace("#b71c1c", "#0d47a1"), encoding="utf-8")
    text = config.path.read_text(encoding="utf-8") + '\n[reporting]\ntemplates = "mine"\n'
    config.path.write_text(text, encoding="utf-8")

    html = build_weekly(engine, load(config.path), WEEK).html

    assert "#0d47a1" in html and "#b71c1c" not in html
    assert "Năm bài nổi bật" in html  # the words still come from the catalogue
