"""The alert digest: unsent alerts become one mail, at most one mail an hour."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from content.models import Alert
from content.queue import PostInput
from scheduler.alerts import send_alert_digest
from scheduler.mail import Mailer, MailError
from tests.reports.conftest import CC, TO


@pytest.fixture
def post_id(make_queue) -> int:
    post = make_queue("officer").create(
        PostInput(text="Cảnh giác lừa đảo", title="Cảnh giác lừa đảo", channels=["tinh-fb"])
    )
    return post.post.id


def _alert(engine, at, *, kind="delivery_failed", post_id=None, channel="tinh-fb", **fields):
    defaults = {
        "message": "(#368) Nội dung bị chặn vì vi phạm tiêu chuẩn cộng đồng",
        "advice": "Sửa nội dung rồi lên lịch lại: loa post reschedule",
    }
    with Session(engine) as session:
        session.add(
            Alert(at=at, kind=kind, channel=channel, post_id=post_id, **{**defaults, **fields})
        )
        session.commit()


def _messages(smtp):
    return [
        email.message_from_bytes(e.content, policy=email.policy.default) for e in smtp.envelopes
    ]


def test_three_alerts_make_one_mail(engine, config, smtp, clock, post_id):
    _alert(engine, clock.now - timedelta(minutes=30), post_id=post_id)
    _alert(
        engine,
        clock.now - timedelta(minutes=20),
        kind="channel_paused",
        channel="tinh-zalo",
        message="Access token has expired (-216)",
        advice="Cấp lại quyền cho OA: loa channels auth tinh-zalo",
    )
    _alert(engine, clock.now - timedelta(minutes=10), kind="needs_review", post_id=post_id,
           channel="xa-fb", message="timeout after publish", advice=None)  # fmt: skip

    assert send_alert_digest(engine, config, clock.now, worker="d1") == 3
    assert len(smtp.envelopes) == 1
    assert sorted(smtp.envelopes[0].rcpt_tos) == sorted(TO + CC)
    message = _messages(smtp)[0]
    assert message["Subject"] == "[Loa] 3 cảnh báo cần xử lý — Công an tỉnh Demo"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for body in (text, html):
        assert f"#{post_id} Cảnh giác lừa đảo" in body
        assert "Tỉnh FB" in body and "Tỉnh Zalo" in body and "Xã FB" in body
        assert "Nội dung bị chặn vì vi phạm tiêu chuẩn cộng đồng" in body
        assert "loa channels auth tinh-zalo" in body
        # Without advice, the digest says where to look.
        assert f"loa post show {post_id}" in body
    with Session(engine) as session:
        assert all(a.sent_at == clock.now for a in session.exec(select(Alert)).all())


def test_at_most_one_digest_an_hour(engine, config, smtp, clock, post_id):
    _alert(engine, clock.now, post_id=post_id)
    assert send_alert_digest(engine, config, clock.now, worker="d1") == 1
    clock.advance(minutes=10)
    _alert(engine, clock.now, post_id=post_id, message="second")
    # Within the hour: nothing, from this daemon or another one.
    assert send_alert_digest(engine, config, clock.now, worker="d1") == 0
    clock.advance(minutes=45)
    assert send_alert_digest(engine, config, clock.now, worker="d2") == 0
    assert len(smtp.envelopes) == 1
    # An hour after the last digest the new alert goes out, alone.
    clock.advance(minutes=5)
    _alert(engine, clock.now, post_id=post_id, message="third")
    assert send_alert_digest(engine, config, clock.now, worker="d2") == 2
    assert send_alert_digest(engine, config, clock.now, worker="d1") == 0
    assert len(smtp.envelopes) == 2
    text = _messages(smtp)[1].get_body(preferencelist=("plain",)).get_content()
    assert "second" in text and "third" in text and "vi phạm" not in text


def test_nothing_to_send_sends_nothing(engine, config, smtp, clock):
    assert send_alert_digest(engine, config, clock.now) == 0
    assert smtp.envelopes == []


def test_alert_recipients_take_precedence(engine, make_config, smtp, clock, post_id):
    config = make_config(smtp.port, alert_recipients=["truc-ban@congan.example.vn"])
    _alert(engine, clock.now, post_id=post_id)
    assert send_alert_digest(engine, config, clock.now) == 1
    assert smtp.envelopes[0].rcpt_tos == ["truc-ban@congan.example.vn"]


def test_a_failed_digest_keeps_the_alerts_for_later(engine, config, smtp, clock, post_id):
    _alert(engine, clock.now, post_id=post_id)
    smtp.sink.refuse = 100
    mailer = Mailer(config.email, sleep=lambda s: None)
    with pytest.raises(MailError, match="451"):
        send_alert_digest(engine, config, clock.now, worker="d1", mailer=mailer)
    with Session(engine) as session:
        assert session.exec(select(Alert)).one().sent_at is None
    smtp.sink.refuse = 0
    clock.advance(minutes=20)
    assert send_alert_digest(engine, config, clock.now, worker="d2", mailer=mailer) == 1
    assert len(smtp.envelopes) == 1


def test_an_english_digest(engine, make_config, smtp, clock, post_id):
    config = make_config(smtp.port, language="en")
    _alert(engine, clock.now, post_id=post_id, kind="needs_review", advice=None)
    send_alert_digest(engine, config, clock.now)
    message = _messages(smtp)[0]
    assert message["Subject"] == "[Loa] Alerts to act on: 1 — Công an tỉnh Demo"
    assert "Needs review" in message.get_body(preferencelist=("plain",)).get_content()
