"""`loa report period`: the Word document in the layout of Decree 30/2020 and the Excel
workbook, opened with python-docx and openpyxl; their figures recomputed from the generated
year (tests/year_data.py), not through content.evaluation."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from docx import Document
from openpyxl import load_workbook

from content.evaluation import span
from scheduler.cli import main
from scheduler.report_docx import period_docx
from scheduler.report_period import build, soffice, vn_date
from scheduler.report_xlsx import period_xlsx
from tests.helpers import HCM
from tests.test_evaluation import (
    SPEC,
    channel_sums,
    counts_before,
    expected_order,
    expected_status,
    local_start,
    replies,
)
from tests.year_data import NOW, UNITS, Office, generated_office

FIRST, LAST = date(2026, 8, 1), date(2026, 8, 31)


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Iterator[Office]:
    """The year on SQLite (the figures' queries are tested on both databases elsewhere)."""
    with generated_office("sqlite", tmp_path_factory.mktemp("year")) as generated:
        yield generated


@pytest.fixture(scope="module")
def report(office):
    return build(office.engine, office.config, span(FIRST, LAST, HCM), now=NOW)


def _vi(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")


@dataclass
class Expected:
    """The figures of August 2026, recomputed from the generated data."""

    sums: dict
    status: dict
    order: list[str]
    #: unit -> (citizens' messages received, answered, median wait in seconds)
    replies: dict
    #: channel -> its follower count at the end of the period
    followers: dict

    def lines(self) -> list[tuple[str, list[str]]]:
        """(name, [publications, required, on time, audience, engagement]) per line of the
        units table: each unit's own figures, a "Cộng" line after ward 3 and its communes,
        and the province's total last."""

        def own(unit: str) -> list[int]:
            channels = SPEC[unit].channels
            targets = self.status[unit]["targets"]
            return [
                sum(self.sums[c].publications for c in channels),
                sum(r for subject, (_d, r, _s) in targets.items() if subject in channels),
                sum(self.sums[c].on_time for c in channels),
                round(sum(self.sums[c].audience for c in channels)),
                round(sum(self.sums[c].engagement for c in channels)),
            ]

        def rolled(units: list[str]) -> list[int]:
            return [sum(own(u)[i] for u in units) for i in range(5)]

        def walk(parent: str | None) -> list[str]:
            return [x for u in UNITS if u.parent == parent for x in (u.id, *walk(u.id))]

        lines = [(SPEC[u].name, own(u)) for u in walk(None)]
        at = [name for name, _ in lines].index("Công an xã Tân Phú") + 1
        lines.insert(at, ("Cộng Công an phường 3", rolled(["p3", "x1", "x2"])))
        lines.append(("Cộng toàn tỉnh", rolled([u.id for u in UNITS])))
        return [(name, [_vi(v) for v in values]) for name, values in lines]


@pytest.fixture(scope="module")
def expected(office) -> Expected:
    return Expected(
        channel_sums(office.year, FIRST, LAST),
        expected_status(office.year, FIRST, LAST, NOW),
        expected_order(office.year, FIRST, LAST),
        {
            u.id: replies(
                office.year, u.id, local_start(FIRST), local_start(LAST + timedelta(days=1))
            )
            for u in UNITS
        },
        counts_before(office.year, local_start(LAST + timedelta(days=1))),
    )


def _text(cell) -> str:
    return "\n".join(p.text for p in cell.paragraphs)


def texts_of(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_the_word_document_has_the_administrative_layout(report):
    document = Document(io.BytesIO(period_docx(report)))
    section = document.sections[0]
    # A4; margins top/bottom 2 cm, left 3 cm, right 1.5 cm; page numbers from page 2.
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert [round(m.cm, 1) for m in (section.top_margin, section.left_margin)] == [2.0, 3.0]
    assert round(section.right_margin.cm, 1) == 1.5
    assert section.different_first_page_header_footer
    assert 'w:instr="PAGE"' in section.header._element.xml
    assert not section.first_page_header.paragraphs[0].text

    heading = document.tables[0]
    issuer, nation = _text(heading.cell(0, 0)), _text(heading.cell(0, 1))
    assert issuer.splitlines()[:2] == ["BỘ CÔNG AN", "CÔNG AN TỈNH DEMO"]
    assert nation.splitlines() == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    motto = heading.cell(0, 1).paragraphs[1].runs[0]
    assert motto.bold and motto.underline
    assert heading.cell(0, 1).paragraphs[0].runs[0].bold
    assert _text(heading.cell(1, 0)).replace(" ", "") == "Số:/BC-CAT"
    place = heading.cell(1, 1).paragraphs[0].runs[0]
    # Decree 30: days under 10 and months 1 and 2 take a leading zero; NOW is 18/11/2026.
    assert place.text == "Demo, ngày 18 tháng 11 năm 2026" and place.italic

    texts = [p.text for p in document.paragraphs]
    start = texts.index("BÁO CÁO")
    assert texts[start + 1] == (
        "Kết quả công tác tuyên truyền phong trào Toàn dân bảo vệ\nan ninh Tổ quốc trên mạng xã hội"
    )
    assert texts[start + 2] == "(Từ ngày 01/08/2026 đến ngày 31/08/2026)"
    parts = [t for t in texts if t[:4] in ("I. K", "II. ", "III.", "IV. ")]
    assert parts == [
        "I. KẾT QUẢ THỰC HIỆN",
        "II. XẾP HẠNG THI ĐUA",
        "III. TỒN TẠI, HẠN CHẾ",
        "IV. ĐỀ XUẤT, KIẾN NGHỊ",
    ]
    # Placeholders the officer replaces, and the closing mark.
    assert "[Nguyên nhân của tồn tại, hạn chế: cán bộ bổ sung.]" in texts
    assert any(t.endswith("./.") for t in texts)
    # A chart of every unit against its target, then one per unit, four to an image.
    assert len(document.inline_shapes) == 1 + 3

    signature = document.tables[-1]
    recipients = _text(signature.cell(0, 0)).splitlines()
    assert recipients[0] == "Nơi nhận:"
    assert recipients[1:] == [
        "- UBND tỉnh Demo (để báo cáo);",
        "- Bộ Công an (V05);",
        "- Lưu: VT, PV01.",
    ]
    signer = [line for line in _text(signature.cell(0, 1)).splitlines() if line]
    assert signer == ["GIÁM ĐỐC", "Nguyễn Văn An"]


def test_dates_are_written_as_the_decree_writes_them():
    # Days below 10, and the months January and February, take a leading zero.
    assert vn_date(date(2026, 9, 5)) == "ngày 05 tháng 9 năm 2026"
    assert vn_date(date(2027, 2, 14)) == "ngày 14 tháng 02 năm 2027"
    assert vn_date(date(2026, 10, 25)) == "ngày 25 tháng 10 năm 2026"


def test_the_word_document_states_the_figures(report, expected):
    document = Document(io.BytesIO(period_docx(report)))
    units = next(
        t for t in document.tables if _text(t.cell(0, 1)) == "Đơn vị" and len(t.columns) == 8
    )
    rows = [[_text(c) for c in row.cells] for row in units.rows[1:]]
    got = [(r[1], r[2:7]) for r in rows]
    assert got == expected.lines()
    want = expected.status
    words = {"met": "Đạt", "behind": "Chưa đạt", "on_track": "Đúng tiến độ"}
    for row in rows:
        unit = next((u for u in UNITS if u.name == row[1]), None)
        if unit is not None:
            assert row[7] == words[want[unit.id]["status"]], unit.id
    # The "Cộng" lines are bold.
    total = units.rows[-1].cells[1].paragraphs[0].runs[0]
    assert total.text == "Cộng toàn tỉnh" and total.bold

    ranking = next(t for t in document.tables if _text(t.cell(0, 0)) == "Hạng")
    names = [_text(row.cells[1]) for row in ranking.rows[1:]]
    assert names == [SPEC[u].name for u in expected.order]
    # August is ranked per follower: each unit's followers (its channels' counts at the end
    # of August) and its audience as a share of them.
    headers = [_text(c) for c in ranking.rows[0].cells]
    assert headers[4:7] == [
        "Người theo dõi",
        "Tiếp cận / người theo dõi",
        "Tương tác / người theo dõi",
    ]
    for row in ranking.rows[1:]:
        unit = next(u for u in UNITS if u.name == _text(row.cells[1]))
        followers = sum(expected.followers[c] for c in unit.channels)
        audience = sum(expected.sums[c].audience for c in unit.channels)
        assert _text(row.cells[4]) == _vi(followers)
        assert _text(row.cells[5]) == f"{audience / followers * 100:.1f}%".replace(".", ",")
    rule = next(t for t in texts_of(document) if t.startswith("Điểm xếp hạng"))
    assert "tiếp cận mỗi người theo dõi" in rule and "Người theo dõi của đơn vị" in rule
    # Response to citizens: answered of received, per unit ("–": nobody wrote).
    answered = {_text(row.cells[1]): _text(row.cells[7]) for row in ranking.rows[1:]}
    assert answered == {
        SPEC[u].name: f"{a}/{r}" if r else "–" for u, (r, a, _m) in expected.replies.items()
    }

    campaign = next(
        t for t in document.tables if len(t.columns) == 6 and _text(t.cell(0, 3)) == "Chỉ tiêu"
    )
    quota = {_text(r.cells[1]): (_text(r.cells[2]), _text(r.cells[3])) for r in campaign.rows[1:]}
    assert quota == {
        SPEC[u].name: (str(w["targets"]["Ngày hội toàn dân bảo vệ ANTQ"][0]), "4")
        for u, w in want.items()
        if "Ngày hội toàn dân bảo vệ ANTQ" in w["targets"]
    }
    texts = [p.text for p in document.paragraphs]
    behind = [SPEC[u].name for u, w in want.items() if w["status"] == "behind"]
    shortcomings = [t for t in texts if t.startswith("- ") and "chưa đạt chỉ tiêu" in t]
    assert [t[2:].split(" chưa đạt")[0] for t in shortcomings] == behind


def test_a_period_without_every_follower_count_is_ranked_per_publication(office):
    # April 2026: the commune x2's Page had no follower count yet.
    april = build(
        office.engine, office.config, span(date(2026, 4, 1), date(2026, 4, 30), HCM), now=NOW
    )
    document = Document(io.BytesIO(period_docx(april)))
    rule = next(t for t in texts_of(document) if t.startswith("Điểm xếp hạng"))
    assert "tiếp cận mỗi lượt đăng" in rule
    assert (
        "Chưa có số người theo dõi của Công an xã Tân Phú (Facebook) trước khi hết kỳ báo cáo"
        in rule
    )
    ranking = next(t for t in document.tables if _text(t.cell(0, 0)) == "Hạng")
    assert [_text(c) for c in ranking.rows[0].cells][4:7] == [
        "Người theo dõi",
        "Tiếp cận / bài",
        "Tương tác / bài",
    ]
    followers = {_text(row.cells[1]): _text(row.cells[4]) for row in ranking.rows[1:]}
    assert followers["Công an xã Tân Phú"] == "–"
    assert followers["Công an phường 1"] != "–"
    workbook = load_workbook(io.BytesIO(period_xlsx(april)))
    sheet = workbook["Xếp hạng"]
    assert any(
        str(sheet.cell(row=r, column=1).value or "").startswith("Chưa có số người theo dõi")
        for r in range(1, sheet.max_row + 1)
    )


def test_the_workbook_has_the_same_figures(report, expected):
    workbook = load_workbook(io.BytesIO(period_xlsx(report)))
    assert workbook.sheetnames == ["Báo cáo", "Chỉ tiêu", "Xếp hạng", "Cán bộ", "Theo thời gian"]
    sheet = workbook["Báo cáo"]
    header = next(r for r in range(1, 20) if sheet.cell(row=r, column=1).value == "STT")
    rows = []
    for r in range(header + 1, header + 1 + len(expected.lines())):
        values = [sheet.cell(row=r, column=c).value for c in range(2, 8)]
        rows.append((values[0].strip(), [_vi(v) for v in values[1:]]))
    assert rows == expected.lines()
    assert len(sheet._charts) == 1

    ranking = workbook["Xếp hạng"]
    order = [ranking.cell(row=r, column=2).value for r in range(2, 2 + len(UNITS))]
    assert order == [SPEC[u].name for u in expected.order]
    column = next(
        c for c in range(1, 30) if ranking.cell(row=1, column=c).value == "Người theo dõi"
    )
    shown = [ranking.cell(row=r, column=column).value for r in range(2, 2 + len(UNITS))]
    assert shown == [sum(expected.followers[c] for c in SPEC[u].channels) for u in expected.order]
    authors = workbook["Cán bộ"]
    published = sum(authors.cell(row=r, column=3).value for r in range(2, authors.max_row + 1))
    assert published == sum(s.publications for s in expected.sums.values())


def test_the_command_writes_private_files_and_a_pdf(office, tmp_path, monkeypatch):
    base = ["--db", office.url, "--config", str(office.config_path)]
    out = tmp_path / "bao-cao.docx"
    args = ["report", "period", "--from", "2026-08-01", "--to", "2026-08-31", "--out", str(out)]
    assert main([*args, *base]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert Document(str(out)).paragraphs
    xlsx = tmp_path / "bao-cao.xlsx"
    assert main([*args[:-1], str(xlsx), "--format", "xlsx", *base]) == 0
    assert stat.S_IMODE(xlsx.stat().st_mode) == 0o600
    if soffice() is not None:
        pdf = tmp_path / "bao-cao.pdf"
        assert main([*args[:-1], str(pdf), "--format", "pdf", *base]) == 0
        assert pdf.read_bytes().startswith(b"%PDF")
    # Without LibreOffice: one line saying what to install, and nothing written.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    missing = tmp_path / "none.pdf"
    assert main([*args[:-1], str(missing), "--format", "pdf", *base]) == 2
    assert not missing.exists()


def test_a_config_without_units_is_refused(office, tmp_path, capsys):
    text = office.config_path.read_text(encoding="utf-8")
    plain = text[: text.index("[units.")] + text[text.index("[reporting]") :]
    config = tmp_path / "channels.toml"
    config.write_text(plain, encoding="utf-8")
    args = ["report", "period", "--from", "2026-08-01", "--to", "2026-08-31"]
    out = tmp_path / "x.docx"
    assert main([*args, "--out", str(out), "--db", office.url, "--config", str(config)]) == 2
    assert "chưa mô tả đơn vị nào" in capsys.readouterr().err
    assert not out.exists()


def test_a_year_report_builds_in_seconds(office):
    import time

    period = span(date(2025, 11, 24), date(2026, 11, 15), HCM)
    started = time.perf_counter()
    report = build(office.engine, office.config, period, now=NOW)
    docx = period_docx(report)
    xlsx = period_xlsx(report)
    elapsed = time.perf_counter() - started
    assert docx and xlsx
    assert elapsed < 30, elapsed
