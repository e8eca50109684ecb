"""The weekly summary mail: built from :mod:`report_data`, rendered by :mod:`report_render`,
sent by :mod:`scheduler.mail`, and sent once per ISO week (see :mod:`report_once`).

The daemon's cron job calls :func:`send_weekly_if_due`; ``loa report weekly`` previews
(:func:`write_preview`) or sends (:func:`send_weekly`) any week.

Message layout (what mail clients expect)::

    multipart/mixed
      multipart/alternative
        text/plain                 the summary as text
        multipart/related
          text/html                tables with inline styles; <img src="cid:...">
          image/png                the chart (Content-ID)
      text/csv (attachment)        one row per publication
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import Engine

from content.errors import LoaError
from content.files import write_private
from scheduler import report_once
from scheduler.config import Config, Email
from scheduler.mail import Mailer
from scheduler.report_data import WeeklyFigures, week_just_ended, week_period, weekly_figures
from scheduler.report_render import (
    engagement_chart,
    posts_csv,
    weekly_html,
    weekly_subject,
    weekly_text,
)

log = logging.getLogger("loa.report")

JOB = "weekly_report"
#: An unfinished weekly-report claim older than this is retried (see report_once).
RETRY_AFTER = timedelta(minutes=30)


class ReportError(LoaError):
    """The weekly report cannot be made or sent as asked."""


def default_worker() -> str:
    """``host:pid``: who holds a claim, for people reading the JobRun table."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class WeeklyMail:
    """The rendered summary of one week: the message and its parts (for previews)."""

    week: str
    message: EmailMessage
    text: str
    html: str
    chart_png: bytes
    csv: str
    figures: WeeklyFigures
    #: The office's report templates ([reporting] templates), None for Loa's own.
    templates: Path | None = None


def build_weekly(engine: Engine, config: Config, week: str) -> WeeklyMail:
    """Compute and render week ``week`` (e.g. ``2026-W47``) into a ready-to-send message."""
    directory = config.directory()
    figures = weekly_figures(engine, directory, week)
    lang = figures.language
    tz = directory.office.timezone
    chart = engagement_chart(figures)
    cid = make_msgid(domain="loa.local")  # "<...@loa.local>"
    text = weekly_text(figures)
    templates = config.reporting.templates_folder(config.path)
    html = weekly_html(figures, f"cid:{cid[1:-1]}", templates)
    csv_text = posts_csv(figures.current.rows, figures.week, lang, tz)

    subject = weekly_subject(figures)
    if config.email is not None:
        message = Mailer(config.email).new_message(subject)
    else:  # a preview without [email]: no addresses yet
        message = EmailMessage()
        message["Subject"] = subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # The text/html part add_alternative just made: the HTML's related parts go beside it.
    html_part = next(p for p in message.iter_parts() if p.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(
        chart, maintype="image", subtype="png", cid=cid, filename="chart.png", disposition="inline"
    )
    message.add_attachment(csv_text, subtype="csv", filename=f"loa-{figures.week}.csv")
    return WeeklyMail(figures.week, message, text, html, chart, csv_text, figures, templates)


def write_preview(mail: WeeklyMail, directory: Path) -> list[Path]:
    """Write ``mail`` as .eml, .html (chart linked as a file), .csv and .png into ``directory``.

    Each file is private to its owner (or the office's shared group): see content.files.
    """
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / f"loa-{mail.week}"
    png = base.with_suffix(".png")
    write_private(png, mail.chart_png)
    eml = base.with_suffix(".eml")
    write_private(eml, mail.message.as_bytes())
    page = base.with_suffix(".html")
    # The cid: reference only works inside the mail; the preview points at the file.
    write_private(
        page, weekly_html(mail.figures, png.name, mail.templates) if mail.chart_png else mail.html
    )
    csv_path = base.with_suffix(".csv")
    write_private(csv_path, mail.csv)
    return [eml, page, csv_path, png]


def send_weekly(
    engine: Engine,
    config: Config,
    week: str,
    now: datetime,
    *,
    worker: str,
    force: bool = False,
    mailer: Mailer | None = None,
) -> bool:
    """Send week ``week``'s summary unless it was already sent; True when sent now.

    ``force`` sends even if it was sent before (and even before the week ended) and then
    records it as sent - unless the week is still running, so the daemon still sends the
    full summary once it ends. A failure is recorded on the week's JobRun row (retried by a later
    call after :data:`RETRY_AFTER`) and re-raised as a one-line :class:`LoaError`.
    """
    email = _email(config)
    period = week_period(week, config.directory().office.timezone)
    week = period.label
    if not force:
        if now < period.end:
            raise ReportError("week_not_ended", week=week, end=period.end.isoformat())
        if not report_once.claim(engine, JOB, week, now, worker, retry_after=RETRY_AFTER):
            log.info("weekly report %s: already sent or being sent; skipped", week)
            return False
    try:
        mail = build_weekly(engine, config, week)
        (mailer or Mailer(email)).send(mail.message)
    except Exception as exc:
        if not force:
            report_once.fail(engine, JOB, week, _one_line(exc))
        raise
    recipients = len(email.to) + len(email.cc)
    detail = f"sent to {recipients} recipients, {mail.message['Message-ID']}"
    if force:
        # A partial summary of a running week must not stand in for the full one.
        if now >= period.end:
            report_once.record_done(engine, JOB, week, now, worker, detail + " (forced)")
    else:
        report_once.finish(engine, JOB, week, now, detail)
    log.info("weekly report %s: %s", week, detail)
    return True


def send_weekly_if_due(
    engine: Engine,
    config: Config,
    now: datetime,
    *,
    worker: str,
    mailer: Mailer | None = None,
) -> bool:
    """The daemon's cron job: send the summary of the ISO week that just ended, once.

    Safe to call as often as you like, from several daemons: only the first successful
    call of the week sends (the unique JobRun row ``weekly_report/2026-W47``); after a
    failure a call made :data:`RETRY_AFTER` later tries again. Returns True when it sent.
    Without an ``[email]`` table it logs and returns False.
    """
    if config.email is None:
        log.warning("weekly report: no [email] table in %s; not sent", config.path)
        return False
    week = week_just_ended(now, config.directory().office.timezone)
    return send_weekly(engine, config, week, now, worker=worker, mailer=mailer)


def _email(config: Config) -> Email:
    if config.email is None:
        raise ReportError("no_email_table", path=str(config.path))
    return config.email


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
