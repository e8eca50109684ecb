"""Reminders of the filing deadlines (``[reporting] deadlines``), each with the draft report.

Before each deadline (``MM-DD``, every year) the daemon mails ``[email]`` a reminder with
the periodic report attached as a draft (.docx, :mod:`scheduler.report_period`), once: from
``remind_days`` before the deadline until the deadline itself, the first daemon to try
claims ``report_deadline/2026-09-05`` (:mod:`scheduler.report_once`), so several daemons on
PostgreSQL, restarts and a daemon that was down on the first day of the window still send it
exactly once. The draft covers the days after the previous deadline (the same day a year
earlier when there is one deadline) up to the day before the reminder: the officer edits it,
or makes a fresh one with ``loa report period``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from content.evaluation import BEHIND, Span
from scheduler import report_once
from scheduler.config import Config, Reporting
from scheduler.mail import Mailer
from scheduler.report_docx import period_docx
from scheduler.report_period import build, short_date

log = logging.getLogger("loa.report")

JOB = "report_deadline"
#: An unfinished claim older than this is tried again (the SMTP retries end well before).
RETRY_AFTER = timedelta(minutes=30)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

SUBJECT = "[Loa] Hạn báo cáo {deadline}: dự thảo báo cáo kèm theo — {office}"
BODY = """Kính gửi lãnh đạo {office},

Hạn nộp báo cáo định kỳ là ngày {deadline} (còn {days} ngày). Loa gửi kèm dự thảo báo cáo
kết quả công tác tuyên truyền trên mạng xã hội từ ngày {first} đến ngày {last}
(tệp {filename}), theo thể thức Nghị định 30/2020/NĐ-CP. Cán bộ bổ sung số văn bản, nguyên
nhân của tồn tại, hạn chế và các đề xuất, rồi trình ký.

{behind}

Có thể lập lại báo cáo cho khoảng thời gian khác bằng lệnh:
    loa report period --from {first_iso} --to {last_iso} --format docx

Thư tự động từ Loa, gửi một lần cho mỗi hạn báo cáo.
"""
BEHIND_LINE = "Đơn vị chưa đạt chỉ tiêu trong kỳ: {units}."
NONE_BEHIND = "Các đơn vị đều đạt chỉ tiêu đăng bài trong kỳ."


@dataclass(frozen=True)
class Due:
    """A deadline whose reminder window holds ``today``, and the span its draft covers."""

    deadline: date
    span: Span

    @property
    def key(self) -> str:
        """The once-guard's key: the deadline's date (``2026-09-05``)."""
        return self.deadline.isoformat()


def _on(year: int, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    return date(year, month, day)


def due(reporting: Reporting, today: date, tz: ZoneInfo) -> list[Due]:
    """The deadlines whose reminder is due on ``today`` (``remind_days`` before, up to the
    deadline itself), each with its draft's span."""
    result = []
    window = timedelta(days=reporting.remind_days)
    for year in (today.year, today.year + 1):
        for month_day in reporting.deadlines:
            deadline = _on(year, month_day)
            if not deadline - window <= today <= deadline:
                continue
            # The draft covers what came after the previous deadline, up to yesterday.
            earlier = [_on(y, md) for y in (year - 1, year) for md in reporting.deadlines]
            previous = max(d for d in earlier if d < deadline)
            first = previous + timedelta(days=1)
            result.append(Due(deadline, Span(first, max(today - timedelta(days=1), first), tz)))
    return result


def send_due_reminders(
    engine: Engine,
    config: Config,
    now: datetime,
    *,
    worker: str,
    mailer: Mailer | None = None,
) -> list[str]:
    """The daemon's daily job: mail each reminder now due that no daemon has sent; returns
    the deadlines mailed now (``2026-09-05``). Safe to call often and from several daemons."""
    if config.email is None or not config.reporting.deadlines or not config.units:
        return []
    tz = config.directory().office.timezone
    today = now.astimezone(tz).date()
    mailer = mailer or Mailer(config.email)
    sent = []
    for reminder in due(config.reporting, today, tz):
        if not report_once.claim(engine, JOB, reminder.key, now, worker, retry_after=RETRY_AFTER):
            continue
        try:
            message = _message(engine, config, reminder, now, mailer)
            mailer.send(message)
        except Exception as exc:
            report_once.fail(engine, JOB, reminder.key, " ".join(str(exc).split())[:500])
            log.error("deadline reminder %s: %s", reminder.key, exc)
            continue
        report_once.finish(engine, JOB, reminder.key, now, f"sent {message['Message-ID']}")
        log.info("deadline reminder %s sent with the draft report", reminder.key)
        sent.append(reminder.key)
    return sent


def _message(
    engine: Engine, config: Config, reminder: Due, now: datetime, mailer: Mailer
) -> EmailMessage:
    """The reminder: what to do and by when, the units behind, the draft attached."""
    report = build(engine, config, reminder.span, now=now)
    first, last = reminder.span.first_day, reminder.span.last_day
    deadline = short_date(reminder.deadline)
    office = config.office.name
    filename = f"du-thao-bao-cao-{reminder.key}.docx"
    behind = [u.unit.name for u in report.status.units if u.status == BEHIND]
    message = mailer.new_message(SUBJECT.format(deadline=deadline, office=office))
    today = now.astimezone(reminder.span.tz).date()
    message.set_content(
        BODY.format(
            office=office,
            deadline=deadline,
            days=(reminder.deadline - today).days,
            first=short_date(first),
            last=short_date(last),
            first_iso=first.isoformat(),
            last_iso=last.isoformat(),
            filename=filename,
            behind=BEHIND_LINE.format(units=", ".join(behind)) if behind else NONE_BEHIND,
        )
    )
    maintype, subtype = DOCX.split("/")
    message.add_attachment(
        period_docx(report), maintype=maintype, subtype=subtype, filename=filename
    )
    return message
