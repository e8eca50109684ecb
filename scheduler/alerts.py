"""The alert digest: unsent :class:`Alert` rows become ONE mail, at most once an hour.

Alerts are written by the runtime (a channel paused on an auth error, a delivery failed,
a delivery needing review) and mailed here, never one mail per event. The digest goes to
``[office] alert_recipients`` (or ``[email] to`` when that is empty), in the office's
language, naming each post, channel, the platform's reason and what to do.

Pacing: a digest is due when no alert was sent in the last hour (the newest ``sent_at``).
Several daemons share the work through :mod:`report_once`: the claim's key is that newest
``sent_at``, so for each "hour slot" one daemon wins. After a successful send all the alerts
in the mail are marked sent in one transaction; after a failure nothing is marked and the
claim is retried after :data:`RETRY_AFTER`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from gettext import NullTranslations
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, update
from sqlmodel import col, select

from content.db import session_scope
from content.i18n import translation as words
from content.models import Alert, Post
from scheduler import report_once
from scheduler.config import Config
from scheduler.mail import Mailer
from scheduler.report_data import post_title
from scheduler.report_html import Table, render
from scheduler.report_render import local_time

log = logging.getLogger("loa.alerts")

JOB = "alert_digest"
#: At most one digest per this interval.
DIGEST_EVERY = timedelta(hours=1)
#: A claimed digest that has not finished after this long is tried again.
RETRY_AFTER = timedelta(minutes=15)
#: The alert kind of a configuration notice (e.g. the Graph version's end date is near).
NOTICE_KIND = "config_notice"
#: Alerts per mail; any more wait for the next digest (oldest first, none lost).
MAX_PER_DIGEST = 200


def send_alert_digest(
    engine: Engine,
    config: Config,
    now: datetime,
    *,
    worker: str | None = None,
    mailer: Mailer | None = None,
) -> int:
    """Mail the unsent alerts as one digest if one is due; returns how many were sent.

    Returns 0 when nothing is unsent, when a digest went out less than an hour ago, or
    when another daemon is sending this digest. Raises :class:`~scheduler.mail.MailError`
    when the server does not take the mail (the alerts stay unsent for the next try).
    """
    note_channel_notices(engine, config, now)
    if config.email is None:
        log.warning("alert digest: no [email] table in %s; alerts stay unsent", config.path)
        return 0
    with session_scope(engine) as session:
        newest = session.exec(select(func.max(Alert.sent_at))).one()
        waiting = session.exec(
            select(func.count(col(Alert.id))).where(col(Alert.sent_at).is_(None))
        ).one()
    newest = _aware(newest)
    if not waiting or (newest is not None and now - newest < DIGEST_EVERY):
        return 0
    key = newest.astimezone(UTC).isoformat() if newest is not None else "first"
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    if not report_once.claim(engine, JOB, key, now, worker, retry_after=RETRY_AFTER):
        return 0
    alerts, titles = _unsent(engine)
    if not alerts:  # marked by someone meanwhile: leave the slot open for a later try
        report_once.fail(engine, JOB, key, "no unsent alerts any more")
        return 0
    try:
        message = build_digest(config, alerts, titles)
        (mailer or Mailer(config.email)).send(message)
    except Exception as exc:
        report_once.fail(engine, JOB, key, " ".join(str(exc).split()) or type(exc).__name__)
        raise
    ids = [a.id for a in alerts]
    with session_scope(engine) as session:
        # One transaction: every alert of the mail is marked, or none is.
        session.execute(
            update(Alert)
            .where(col(Alert.id).in_(ids))
            .where(col(Alert.sent_at).is_(None))
            .values(sent_at=now)
        )
    report_once.finish(engine, JOB, key, now, f"{len(ids)} alerts, {message['Message-ID']}")
    log.info("alert digest: %d alerts sent", len(ids))
    return len(ids)


def note_channel_notices(engine: Engine, config: Config, now: datetime) -> int:
    """Add an alert for each configuration notice not alerted yet (a Graph version ending
    within 60 days); returns how many were added.

    Checked before every digest, so the office hears of it once per notice (the text names the
    version and its end date: a new version later is a new notice), with no job of its own.
    """
    from scheduler.channels import channel_notices

    notices = channel_notices(config, now.date())
    if not notices:
        return 0
    added = 0
    with session_scope(engine) as session:
        for item in notices:
            known = session.exec(
                select(Alert.id)
                .where(Alert.kind == NOTICE_KIND)
                .where(Alert.channel == item.channel)
                .where(Alert.message == item.message)
            ).first()
            if known is None:
                session.add(
                    Alert(
                        at=now,
                        kind=NOTICE_KIND,
                        channel=item.channel,
                        message=item.message,
                        advice=item.advice,
                    )
                )
                added += 1
    if added:
        log.info("alert digest: %d configuration notice(s) added", added)
    return added


def _unsent(engine: Engine) -> tuple[list[Alert], dict[int, str]]:
    with session_scope(engine) as session:
        alerts = list(
            session.exec(
                select(Alert)
                .where(col(Alert.sent_at).is_(None))
                .order_by(col(Alert.at), col(Alert.id))
                .limit(MAX_PER_DIGEST)
            ).all()
        )
        post_ids = {a.post_id for a in alerts if a.post_id is not None}
        posts = session.exec(select(Post).where(col(Post.id).in_(post_ids))).all()
    return alerts, {p.id: post_title(p) for p in posts if p.id is not None}


def build_digest(config: Config, alerts: Sequence[Alert], titles: dict[int, str]) -> EmailMessage:
    """The digest mail of ``alerts`` (plain text and HTML)."""
    assert config.email is not None
    directory = config.directory()
    lang, tz = directory.office.language, directory.office.timezone
    s = words(lang)
    kinds = {
        "channel_paused": s.pgettext("alert", "Channel paused"),
        "delivery_failed": s.pgettext("alert", "Publishing failed"),
        "needs_review": s.pgettext("alert", "Needs review"),
    }
    names = {cid: info.name for cid, info in directory.channels.items()}
    rows = [_row(a, s, kinds, titles, names, tz, lang) for a in alerts]
    headers = [
        s.pgettext("alert", "At"),
        s.pgettext("report", "Type"),
        s.pgettext("alert", "Post"),
        s.pgettext("alert", "Channel"),
        s.pgettext("alert", "Reason (from the platform)"),
        s.pgettext("alert", "What to do"),
    ]
    intro = s.pgettext("alert", "Loa noticed {count} things a person must look at:").format(
        count=len(alerts)
    )
    subject = s.pgettext("alert", "[Loa] Alerts to act on: {count} — {office}").format(
        count=len(alerts), office=directory.office.name
    )
    w = {
        "subject": subject,
        "heading": s.pgettext("alert", "Things to act on"),
        "intro": intro,
        "footer": s.pgettext("alert", "Sent automatically by Loa, at most once an hour."),
    }
    page = render(
        "alerts.html",
        config.reporting.templates_folder(config.path),
        language=lang,
        w=w,
        alerts=Table(headers, rows),
    )
    recipients = list(config.office.alert_recipients) or None
    message = Mailer(config.email).new_message(subject, to=recipients)
    message.set_content(_plain_text(intro, rows, s))
    message.add_alternative(page, subtype="html")
    return message


def _row(
    a: Alert,
    s: NullTranslations,
    kinds: Mapping[str, str],
    titles: Mapping[int, str],
    names: Mapping[str, str],
    tz: ZoneInfo,
    lang: str,
) -> list[str]:
    """One alert's cells: when, what, the post, the channel, the platform's reason, advice."""
    post = ""
    if a.post_id is not None:
        post = f"#{a.post_id} {titles.get(a.post_id, '')}".strip()
    channel = names.get(a.channel, a.channel) if a.channel else ""
    advice = a.advice or (
        s.pgettext("alert", "See the details with: loa post show {post_id}").format(
            post_id=a.post_id
        )
        if a.post_id is not None
        else ""
    )
    return [local_time(a.at, tz, lang), kinds.get(a.kind, a.kind), post, channel, a.message, advice]


def _plain_text(intro: str, rows: Sequence[Sequence[str]], s: NullTranslations) -> str:
    """The digest's plain-text part, one paragraph per alert."""
    text_lines = [intro, ""]
    for at, kind, post, channel, reason, advice in rows:
        text_lines.append(f"* {at}  {kind}" + (f"  [{channel}]" if channel else ""))
        if post:
            text_lines.append(f"  {s.pgettext('alert', 'Post')}: {post}")
        text_lines.append(f"  {s.pgettext('alert', 'Reason (from the platform)')}: {reason}")
        if advice:
            text_lines.append(f"  {s.pgettext('alert', 'What to do')}: {advice}")
        text_lines.append("")
    text_lines.append(s.pgettext("alert", "Sent automatically by Loa, at most once an hour."))
    return "\n".join(text_lines) + "\n"


def _aware(value: datetime | None) -> datetime | None:
    """UTC-aware (the column type already does this; kept for raw SQL results)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
