"""Citizens' messages in the reports: received, answered, the median first response and the
replies refused outside the platform's window, per unit, in the weekly mail (text and HTML)
and the range report (CSV, Excel, HTML). The threads are written through the library; the
expected figures are worked out here from the same plain times."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from cryptography.fernet import Fernet
from openpyxl import load_workbook
from sqlalchemy import Engine

from content.accounts import unenforced
from content.db import session_scope
from content.inbox import Inbound, Inbox, ReplyRefused, ingest
from content.models import ThreadKind
from content.sealed import Sealer
from scheduler.report_data import days_period, period_figures, weekly_figures
from scheduler.report_range import range_csv, range_html, range_xlsx
from scheduler.report_render import weekly_html, weekly_text
from tests.helpers import HCM, FakeClock, local
from tests.reports.conftest import WEEK

SEALER = Sealer(Fernet.generate_key())
Z, M = ThreadKind.ZALO_CHAT, ThreadKind.MESSENGER

#: (channel, kind, citizen, message id, direction, local time): the week's conversations.
MESSAGES = (
    # The province's OA: answered after 40 minutes (two messages), then after 2 hours.
    ("tinh-zalo", Z, "u1", "z1", "in", "2026-11-17 09:00"),
    ("tinh-zalo", Z, "u1", "z2", "in", "2026-11-17 09:10"),
    ("tinh-zalo", Z, "u1", "z3", "out", "2026-11-17 09:40"),
    ("tinh-zalo", Z, "u1", "z4", "in", "2026-11-18 10:00"),
    ("tinh-zalo", Z, "u1", "z5", "out", "2026-11-18 12:00"),
    # The week before: not this week's.
    ("tinh-zalo", Z, "u3", "z6", "in", "2026-11-14 10:00"),
    # The ward's Page: answered only the next week.
    ("xa-fb", M, "p1", "m1", "in", "2026-11-20 08:00"),
    ("xa-fb", M, "p1", "m2", "out", "2026-11-23 09:00"),
    # The province's Page: answered too late, and Facebook refused (below).
    ("tinh-fb", M, "p2", "m3", "in", "2026-11-21 10:00"),
)


def _record(channel: str, kind: ThreadKind, citizen: str, msg: str, way: str, at: str):
    return Inbound(
        channel=channel,
        kind=kind,
        event="message",
        occurred_at=local(at),
        citizen_id=citizen,
        direction=way,
        platform_id=msg,
        text="…",
    )


@pytest.fixture
def citizens(engine: Engine, config) -> None:
    with session_scope(engine) as session:
        ingest(session, SEALER, [_record(*m) for m in MESSAGES], now=local("2026-11-24 00:00"))
    clock = FakeClock(local("2026-11-22 12:00"))
    box = Inbox(engine, config.directory(), SEALER, access=unenforced("lan"), clock=clock)
    late = next(t for t in box.threads() if t.channel == "tinh-fb")
    plan = box.begin_reply(late.id, "Xin lỗi vì trả lời muộn.")
    said = "Facebook 10/2018278: (#10) This message is sent outside of allowed window"
    box.refuse_reply(
        plan,
        ReplyRefused(
            "reply_window_closed",
            thread=late.id,
            platform="Facebook",
            platform_code="10/2018278",
            platform_message=said,
            said=said,
            rule="messenger_24h",
        ),
    )


#: name -> (received, answered, median first response, outside the window), worked out from
#: MESSAGES: the OA's waits are 40 and 120 minutes (median 80); groups fb = the two Pages,
#: tinh = the province's Page and OA (the test office's channels.toml).
EXPECTED = {
    "Tỉnh FB": ("1", "0", "–", "1"),
    "Tỉnh Zalo": ("3", "3", "1 giờ 20 phút", "0"),
    "Xã FB": ("1", "0", "–", "0"),
    "fb": ("2", "0", "–", "1"),
    "tinh": ("4", "3", "1 giờ 20 phút", "1"),
    "Tổng cộng": ("5", "3", "1 giờ 20 phút", "1"),
}


def _section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(heading)
    end = lines.index("", start)
    return lines[start + 1 : end]


def _cells(line: str) -> list[str]:
    """A text table's cells: columns are two spaces apart (wider ones padded)."""
    return [c.strip() for c in line.split("  ") if c.strip()]


def test_the_weekly_mail_says_how_citizens_were_answered_per_unit(engine, config, citizens):
    fig = weekly_figures(engine, config.directory(), WEEK)
    section = _section(weekly_text(fig), "Tin nhắn của người dân")
    header, _rule, *rows, note = section
    assert _cells(header) == [
        "Đơn vị",
        "Loại",
        "Tin nhận",
        "Đã trả lời",
        "Trả lời lần đầu (trung vị)",
        "Trả lời ngoài hạn",
    ]
    got = {c[0].strip(): tuple(c[-4:]) for c in map(_cells, rows)}
    assert got == EXPECTED
    # The groups (this office has no unit tree), each channel, then the total.
    order = [c[0].strip() for c in map(_cells, rows)]
    assert order == ["fb", "tinh", "Tỉnh FB", "Tỉnh Zalo", "Xã FB", "Tổng cộng"]
    assert note.startswith("Tin nhận: tin nhắn và bình luận của người dân trong kỳ.")
    html = weekly_html(fig, None)
    assert "<h2" in html and "Tin nhắn của người dân</h2>" in html
    assert ">1 giờ 20 phút</td>" in html


def test_a_week_without_citizens_says_so(engine, config):
    fig = weekly_figures(engine, config.directory(), WEEK)
    assert _section(weekly_text(fig), "Tin nhắn của người dân") == [
        "Không có tin nhắn nào của người dân trong kỳ này."
    ]


def test_the_range_report_has_the_figures_as_numbers(engine, config, dataset, citizens, tmp_path):
    period = days_period(date(2026, 11, 16), date(2026, 11, 22), HCM)  # the week, by days
    fig = period_figures(engine, config.directory(), period)
    rows = list(csv.reader(io.StringIO(range_csv(fig, "vi").lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[-4:] == [
        "Tin nhận",
        "Đã trả lời",
        "Trả lời lần đầu, trung vị (phút)",
        "Trả lời ngoài hạn",
    ]
    by_name = {(r[0], r[1]): r[-4:] for r in body}
    assert by_name[("kênh", "Tỉnh Zalo")] == ["3", "3", "80", "0"]
    assert by_name[("nhóm", "fb")] == ["2", "0", "", "1"]
    assert by_name[("Tổng cộng", "Tổng cộng")] == ["5", "3", "80", "1"]
    campaign = next(r for r in body if r[0] == "Chiến dịch")
    assert campaign[-4:] == ["", "", "", ""]  # a campaign has no inbox
    out = tmp_path / "r.xlsx"
    range_xlsx(fig, "Công an tỉnh Demo", "vi", out)
    sheet = load_workbook(out)["Tin nhắn của người dân"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][2:] == (
        "Tin nhận",
        "Đã trả lời",
        "Trả lời lần đầu, trung vị (phút)",
        "Trả lời ngoài hạn",
    )
    assert values[-1] == ("Tổng cộng", None, 5, 3, 80, 1)
    page = range_html(fig, "Công an tỉnh Demo", "vi")
    assert "Tin nhắn của người dân</h2>" in page and ">80" not in page
    assert ">1 giờ 20 phút</td>" in page
