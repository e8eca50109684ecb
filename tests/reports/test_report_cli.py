"""`loa report weekly` and `loa report range`, through their argparse registration."""

from __future__ import annotations

import csv
import email
import email.policy
import io

import pytest
from openpyxl import load_workbook

from content.errors import LoaError
from scheduler.cli.common import CommandParser, common_options
from scheduler.cli.report import register
from tests.helpers import local
from tests.reports.expected import expected_rows, expected_sums

NOVEMBER = (local("2026-11-01 00:00"), local("2026-12-01 00:00"))
FIGURES = ("views", "reach", "reactions", "comments", "shares", "clicks", "engagement")


@pytest.fixture
def loa(db_url, config, capsys):
    """Run `loa report ...` against the fixture database and config; returns (code, out, err)."""
    parser = CommandParser(prog="loa")
    common_options(parser, defaults=True)
    register(parser.add_subparsers())

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(["--db", db_url, "--config", str(config.path), *argv])
        try:
            code = args.handler(args)
        except LoaError as exc:
            print(f"loa: error: {exc}", file=__import__("sys").stderr)
            code = exc.exit_code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_weekly_out_writes_a_preview(loa, dataset, tmp_path):
    code, out, err = loa("report", "weekly", "--week", "2026-W47", "--out", str(tmp_path / "p"))
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == [
        "loa-2026-W47.csv",
        "loa-2026-W47.eml",
        "loa-2026-W47.html",
        "loa-2026-W47.png",
    ]
    page = (tmp_path / "p" / "loa-2026-W47.html").read_text(encoding="utf-8")
    assert 'src="loa-2026-W47.png"' in page
    message = email.message_from_bytes(
        (tmp_path / "p" / "loa-2026-W47.eml").read_bytes(), policy=email.policy.default
    )
    assert message["Subject"] == "Báo cáo tuần 2026-W47 — Công an tỉnh Demo"


def test_weekly_prints_the_text_summary(loa, dataset):
    code, out, _ = loa("report", "weekly", "--week", "2026W47")
    assert code == 0 and out.startswith("Báo cáo tương tác tuần 2026-W47")


def test_weekly_send_is_guarded_unless_forced(loa, dataset, smtp):
    assert loa("report", "weekly", "--week", "2026-W47", "--send")[1].startswith(
        "week 2026-W47: sent"
    )
    assert "already sent" in loa("report", "weekly", "--week", "2026-W47", "--send")[1]
    assert len(smtp.envelopes) == 1
    code, out, _ = loa("report", "weekly", "--week", "2026-W47", "--send", "--force")
    assert code == 0 and len(smtp.envelopes) == 2


def test_a_bad_week_is_one_line_and_exit_2(loa):
    code, _, err = loa("report", "weekly", "--week", "next-week")
    assert code == 2 and err.count("\n") == 1 and "expected e.g. 2026-W48" in err


def _expected_total(start, end) -> dict:
    return expected_sums(expected_rows(start, end), lambda r: ["all"])["all"]


def test_range_xlsx_reads_back_with_headers_totals_and_print_settings(loa, dataset, tmp_path):
    out = tmp_path / "bao-cao.xlsx"
    code, _, err = loa(
        "report", "range", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    workbook = load_workbook(out)
    assert workbook.sheetnames == [
        "Theo kênh",
        "Theo nhóm đơn vị",
        "Theo chiến dịch",
        "Từng bài",
        "Tin nhắn của người dân",
    ]
    sheet = workbook["Theo kênh"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["Kênh", "Lượt đăng", "Lượt xem"]
    total = dict(zip(header, rows[-1], strict=True))
    want = _expected_total(*NOVEMBER)
    assert total["Kênh"] == "Tổng cộng"
    assert total["Lượt đăng"] == want["posts"] == 11
    assert total["Lượt xem"] == want["views"]
    assert total["Tương tác"] == want["engagement"]
    assert total["Tỷ lệ tương tác"] == pytest.approx(want["engagement"] / want["views"], abs=1e-6)
    # One line per channel with that channel's sum.
    by_channel = expected_sums(expected_rows(*NOVEMBER), lambda r: [r["pub"].channel])
    lines = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:-1]}
    assert lines["Xã FB"]["Lượt xem"] == by_channel["xa-fb"]["views"]
    # What a clerk needs to print it.
    assert sheet.freeze_panes == "A2"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.column_dimensions["A"].width >= len("Tổng cộng")
    posts = list(workbook["Từng bài"].iter_rows(values_only=True))
    assert len(posts) == 1 + 11


def test_range_csv_has_units_campaigns_and_the_total(loa, dataset):
    code, out, err = loa(
        "report", "range", "--from", "2026-11-16", "--to", "2026-11-22", "--format", "csv"
    )
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Mục", "Đơn vị", "Lượt đăng", "Lượt xem"]
    total = dict(zip(header, body[-1], strict=True))
    want = _expected_total(local("2026-11-16 00:00"), local("2026-11-23 00:00"))
    assert float(total["Lượt xem"]) == want["views"]
    assert float(total["Tương tác"]) == want["engagement"]
    sections = {r[0] for r in body}
    assert sections == {"kênh", "nhóm", "Chiến dịch", "Tổng cộng"}
    campaigns = {r[1]: r for r in body if r[0] == "Chiến dịch"}
    assert set(campaigns) == {"An toàn giao thông", "Chống lừa đảo", "(không thuộc chiến dịch)"}


def test_range_html_is_a_standalone_page(loa, dataset, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = loa(
        "report", "range", "--from", "2026-11-16", "--to", "2026-11-22", "--format", "html",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Tổng cộng" in page and "<script" not in page
    assert "Báo cáo tương tác từ 2026-11-16 đến 2026-11-22" in page


def test_range_to_before_from_is_refused(loa):
    code, _, err = loa("report", "range", "--from", "2026-11-30", "--to", "2026-11-01")
    assert code == 2 and "--to" in err and err.count("\n") == 1
