"""The periodic report the People's Committee asks for (``loa report period``).

Units "report to the Provincial People's Committee before September 5 and periodically
before October 25": this module gathers what such a report states for any span of days
(every figure from :mod:`content.evaluation`, the one place of their definitions) and
writes it as

* a Word document in the layout of a Vietnamese administrative report (Decree
  30/2020/NĐ-CP): :mod:`scheduler.report_docx`;
* an Excel workbook with the same tables and a chart: :mod:`scheduler.report_xlsx`;
* a PDF of the Word document, through LibreOffice (``soffice``) where it is installed.

The report is a Vietnamese administrative document: its words are Vietnamese whatever the
office's language (they are in :data:`WORDS`). The parts an officer must write himself
(the number, causes of shortcomings, proposals) are placeholders in the document.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine

from content import formatting
from content.errors import LoaError
from content.evaluation import (
    BEHIND,
    MET,
    NO_TARGET,
    ON_TRACK,
    PER_FOLLOWER,
    PER_PUBLICATION,
    POSTS_PER_WEEK,
    Point,
    RankedUnit,
    Ranking,
    Span,
    StatusReport,
    UnitStatus,
    publications,
    ranking,
    series,
    status,
)
from content.files import write_private
from content.formatting import number as fmt_number
from content.units import UnitInfo, UnitTree
from scheduler.config import Config

FORMATS = ("docx", "xlsx", "pdf")
#: LibreOffice converts a report in a few seconds; this is for a stuck one.
PDF_TIMEOUT_SECONDS = 180

#: The report's words (Vietnamese: an administrative document is written in it).
WORDS = {
    "national": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "motto": "Độc lập - Tự do - Hạnh phúc",
    "number": "Số:        /{symbol}",
    "kind": "BÁO CÁO",
    # Two lines, broken where a reader pauses (not inside "Tổ quốc").
    "subject": (
        "Kết quả công tác tuyên truyền phong trào Toàn dân bảo vệ\nan ninh Tổ quốc trên mạng xã hội"
    ),
    "span": "(Từ ngày {first} đến ngày {last})",
    "intro": (
        "{issuer} báo cáo kết quả đăng tải tin, bài tuyên truyền trên các trang Facebook và "
        "tài khoản Zalo OA của các đơn vị từ ngày {first} đến ngày {last} như sau:"
    ),
    "part_results": "I. KẾT QUẢ THỰC HIỆN",
    "results_general": "1. Kết quả chung",
    "results_units": "2. Kết quả của từng đơn vị",
    "results_charts": "3. Biểu đồ",
    "results_campaigns": "4. Chỉ tiêu theo chiến dịch",
    "part_ranking": "II. XẾP HẠNG THI ĐUA",
    "part_shortcomings": "III. TỒN TẠI, HẠN CHẾ",
    "part_proposals": "IV. ĐỀ XUẤT, KIẾN NGHỊ",
    "summary": (
        "Trong kỳ báo cáo, {units} đơn vị với {channels} kênh (trang Facebook, tài khoản Zalo "
        "OA) đã đăng {publications} lượt tin, bài; {on_time} lượt đúng giờ theo lịch "
        "({on_time_share}); tiếp cận {audience} lượt người, {engagement} lượt tương tác "
        "(cảm xúc, bình luận, chia sẻ). Chỉ tiêu đăng bài đặt ra {required} lượt, đã thực "
        "hiện {done} lượt ({done_share}); {met} đơn vị đạt, {behind} đơn vị chưa đạt chỉ tiêu."
    ),
    "note_figures": (
        "Ghi chú: tiếp cận là số người xem được bài (Facebook), lượt xem (Zalo); số liệu mỗi "
        "bài là số thu thập gần nhất trước khi hết kỳ báo cáo. Dòng “Cộng” gồm đơn vị và các "
        "đơn vị trực thuộc."
    ),
    "col_no": "STT",
    "col_unit": "Đơn vị",
    "col_channels": "Số kênh",
    "col_publications": "Lượt đăng",
    "col_required": "Chỉ tiêu",
    "col_on_time": "Đúng giờ",
    "col_audience": "Tiếp cận",
    "col_engagement": "Tương tác",
    "col_result": "Đánh giá",
    "col_rank": "Hạng",
    "col_score": "Điểm",
    "col_on_time_required": "Đúng giờ / chỉ tiêu",
    "col_audience_per": "Tiếp cận / bài",
    "col_engagement_per": "Tương tác / bài",
    "col_followers": "Người theo dõi",
    "col_audience_per_follower": "Tiếp cận / người theo dõi",
    "col_engagement_per_follower": "Tương tác / người theo dõi",
    "col_change": "So với kỳ trước",
    "col_author": "Cán bộ soạn bài",
    "col_posts": "Số bài",
    "col_campaign": "Chiến dịch",
    "col_window": "Thời gian",
    "col_quota": "Chỉ tiêu mỗi đơn vị",
    "col_done": "Đã đăng",
    "col_target": "Chỉ tiêu",
    "col_status": "Tình hình",
    "col_scheduled": "Đã lên lịch",
    "col_period": "Thời gian",
    "rolled": "Cộng {name}",
    "rolled_all": "Cộng toàn tỉnh",
    "status_" + MET: "Đạt",
    "status_" + ON_TRACK: "Đúng tiến độ",
    "status_" + BEHIND: "Chưa đạt",
    "status_" + NO_TARGET: "Không giao",
    "chart_overview": "Biểu đồ 1. Lượt đăng của từng đơn vị so với chỉ tiêu",
    "chart_units": (
        "Biểu đồ 2. Lượt đăng theo {piece} của từng đơn vị (cột đậm: chưa đạt chỉ tiêu "
        "của {piece}; đường xám: chỉ tiêu)"
    ),
    "piece_week": "tuần",
    "piece_month": "tháng",
    "legend_done": "Lượt đăng",
    "legend_behind": "Lượt đăng (chưa đạt)",
    "legend_required": "Chỉ tiêu",
    "score_rule": (
        "Điểm xếp hạng (thang 100) = {delivery} × tỷ lệ lượt đăng đúng giờ so với chỉ tiêu "
        "(mỗi kênh tối đa 100%) + {audience} × tiếp cận {per} so với đơn vị cao nhất "
        "+ {engagement} × tương tác {per} so với đơn vị cao nhất + {response} × tỷ lệ "
        "tin nhắn, bình luận của người dân được trả lời (đơn vị không nhận được tin nào tính "
        "đủ). Đúng giờ: đăng không muộn quá {grace} phút so với lịch."
    ),
    "per_" + PER_FOLLOWER: "mỗi người theo dõi",
    "per_" + PER_PUBLICATION: "mỗi lượt đăng",
    "basis_" + PER_FOLLOWER: (
        "Người theo dõi của đơn vị: tổng số người theo dõi các kênh của đơn vị, theo số thu "
        "thập gần nhất trước khi hết kỳ báo cáo."
    ),
    "basis_" + PER_PUBLICATION: (
        "Chưa có số người theo dõi của {channels} trước khi hết kỳ báo cáo, nên tiếp cận và "
        "tương tác của mọi đơn vị được tính theo mỗi lượt đăng."
    ),
    "summary_citizens": (
        "Người dân gửi {received} tin nhắn, bình luận đến các kênh; đã trả lời {answered} "
        "({share}), thời gian trả lời lần đầu (trung vị) {median}."
    ),
    "col_answered": "Trả lời người dân",
    "shortcoming_response": (
        "trả lời người dân sau {median} (trung vị; hẹn trong {target}), đã trả lời "
        "{answered}/{received} tin"
    ),
    "target_response": "Trả lời người dân (phút, trung vị)",
    "not_answered": "chưa trả lời",
    "improved": (
        "Đơn vị tiến bộ nhất so với kỳ trước ({first} – {last}): {name}, tăng {change} điểm."
    ),
    "improved_no_data": "Kỳ trước ({first} – {last}) chưa có số liệu để so sánh.",
    "campaign_line": (
        "Chiến dịch “{campaign}” từ ngày {first} đến ngày {last}: mỗi đơn vị đăng ít nhất "
        "{posts} bài."
    ),
    "improved_none": "Không có đơn vị nào tăng điểm so với kỳ trước ({first} – {last}).",
    "authors": "Đóng góp của cán bộ (mười người đăng nhiều nhất):",
    "shortcoming_unit": "{name} chưa đạt chỉ tiêu: {missed}.",
    "shortcoming_channel": "{channel} {done}/{required} lượt đăng",
    "shortcoming_campaign": "chiến dịch “{campaign}” {done}/{required} bài",
    "shortcoming_late": (
        "{late} lượt đăng muộn quá {grace} phút so với lịch (không tính vào điểm đúng giờ)."
    ),
    "shortcoming_none": "Các đơn vị đều đạt chỉ tiêu đăng bài trong kỳ.",
    "placeholder_causes": "[Nguyên nhân của tồn tại, hạn chế: cán bộ bổ sung.]",
    "proposal_reward": (
        "Đề nghị biểu dương, khen thưởng: {best} (xếp thứ nhất, {score} điểm){improved}{author}."
    ),
    "proposal_improved": "; {name} (tiến bộ nhất, tăng {change} điểm)",
    "proposal_author": "; cá nhân: đồng chí {author} ({publications} lượt đăng)",
    "placeholder_proposals": "[Đề xuất, kiến nghị khác: cán bộ bổ sung.]",
    "closing": "Trên đây là báo cáo kết quả công tác tuyên truyền trên mạng xã hội từ ngày "
    "{first} đến ngày {last} của {issuer}./.",
    "recipients": "Nơi nhận:",
    "keep": "Lưu: VT.",
    "signer_placeholder": "[Họ và tên]",
    "sheet_report": "Báo cáo",
    "sheet_ranking": "Xếp hạng",
    "sheet_authors": "Cán bộ",
    "sheet_targets": "Chỉ tiêu",
    "sheet_series": "Theo thời gian",
    "target_channel": "Kênh {channel}",
    "kind_facebook": "trang Facebook",
    "kind_zalo_oa": "tài khoản Zalo OA",
    "target_campaign": "Chiến dịch “{campaign}”",
}


class ReportPeriodError(LoaError):
    """The periodic report cannot be written as asked (no units, no LibreOffice)."""


@dataclass(frozen=True)
class Heading:
    """What the top and the bottom of the document say: from ``[office]`` and ``[reporting]``."""

    superior: str | None
    issuer: str
    symbol: str
    place: str
    signed_on: date
    signer_title: str
    signer_name: str | None
    recipients: tuple[str, ...]


@dataclass
class PeriodReport:
    """Everything the periodic report states, computed once for every format."""

    heading: Heading
    span: Span
    tree: UnitTree
    channel_names: dict[str, str]
    #: channel id -> its platform (``facebook``, ``zalo_oa``)
    channel_kinds: dict[str, str]
    status: StatusReport
    ranking: Ranking
    series: dict[str, list[Point]]
    #: Publications more than the on-time grace after their scheduled time.
    late: int


def build(engine: Engine, config: Config, period: Span, *, now: datetime) -> PeriodReport:
    """Gather the report of ``period`` as of ``now`` (a period still running is judged pro rata)."""
    directory = config.directory()
    if not directory.units:
        raise ReportPeriodError("no_units", path=str(config.path))
    reporting = config.reporting
    pubs = publications(engine, period.start, period.end)
    heading = Heading(
        superior=reporting.superior,
        issuer=reporting.issuer or config.office.name.upper(),
        symbol=reporting.symbol,
        place=reporting.place or "……………",
        signed_on=now.astimezone(period.tz).date(),
        signer_title=reporting.signer_title,
        signer_name=reporting.signer_name,
        recipients=tuple(reporting.recipients),
    )
    return PeriodReport(
        heading=heading,
        span=period,
        tree=directory.units,
        channel_names={cid: info.name for cid, info in directory.channels.items()},
        channel_kinds={cid: info.kind for cid, info in directory.channels.items()},
        status=status(engine, directory, period, now=min(now, period.end), pubs=pubs),
        ranking=ranking(engine, directory, period, pubs=pubs),
        series=series(directory.units, period, pubs),
        late=sum(not p.on_time for p in pubs),
    )


@dataclass(frozen=True)
class UnitLine:
    """A line of the units table: a unit's own figures, or (``rolled``) its subtree's."""

    number: int | None
    name: str
    depth: int
    rolled: bool
    publications: int
    required: int
    on_time: int
    audience: float
    engagement: float
    #: The unit's status word; for a "Cộng" line, how many units under it are behind.
    result: str


#: The headers of a table of :func:`unit_lines` (the Word and the workbook alike).
UNIT_LINE_HEADERS = tuple(
    WORDS[k]
    for k in (
        "col_no",
        "col_unit",
        "col_publications",
        "col_required",
        "col_on_time",
        "col_audience",
        "col_engagement",
        "col_result",
    )
)


def unit_lines(report: PeriodReport) -> list[UnitLine]:
    """Every unit in tree order with its own figures; after a unit with units under it, a
    "Cộng" line with the figures rolled up; last, the top unit's (the province's) total."""
    by_id = {u.unit.id: u for u in report.status.units}
    lines: list[UnitLine] = []

    def line(u: UnitStatus, rolled: bool, label: str, number: int | None) -> UnitLine:
        f = u.total if rolled else u.own
        own_required = sum(t.required for t in u.targets if t.kind == POSTS_PER_WEEK)
        behind = u.behind_below
        return UnitLine(
            number=number,
            name=label,
            depth=u.depth,
            rolled=rolled,
            publications=f.publications,
            required=u.required if rolled else own_required,
            on_time=f.on_time,
            audience=f.audience,
            engagement=f.engagement,
            result=(
                (f"{behind} {WORDS['status_' + BEHIND].lower()}" if behind else "")
                if rolled
                else WORDS[f"status_{u.status}"]
            ),
        )

    def visit(unit_id: str) -> None:
        u = by_id[unit_id]
        lines.append(line(u, False, u.unit.name, sum(not x.rolled for x in lines) + 1))
        children = report.tree.children(unit_id)
        for child in children:
            visit(child)
        if children and u.unit.parent is not None:
            lines.append(line(u, True, WORDS["rolled"].format(name=u.unit.name), None))

    roots = [u.unit.id for u in report.status.units if u.unit.parent is None]
    for root in roots:
        visit(root)
    for root in roots:
        u = by_id[root]
        label = WORDS["rolled_all"] if len(roots) == 1 else WORDS["rolled"].format(name=u.unit.name)
        lines.append(line(u, True, label, None))
    return lines


def channel_word(report: PeriodReport, unit: UnitInfo, channel: str) -> str:
    """How a unit's channel is named in a sentence about the unit: "trang Facebook" when
    it has one channel of that platform, else the channel's own name."""
    kind = report.channel_kinds.get(channel, "")
    same = [c for c in unit.channels if report.channel_kinds.get(c) == kind]
    word = WORDS.get(f"kind_{kind}")
    return word if word and len(same) == 1 else report.channel_names.get(channel, channel)


def basis_sentence(report: PeriodReport) -> str:
    """What the ranking's audience and engagement were divided by, and why (the channels
    without a follower count, by name, when per publication)."""
    ranked = report.ranking
    if ranked.basis == PER_FOLLOWER:
        return WORDS["basis_" + PER_FOLLOWER]
    names = [report.channel_names.get(c, c) for c in ranked.without_followers]
    return WORDS["basis_" + PER_PUBLICATION].format(channels=", ".join(names) or "các kênh")


def rates(report: PeriodReport, unit: RankedUnit) -> tuple[float, float]:
    """A ranked unit's audience and engagement on the ranking's basis: per follower (a
    share: 0.35 is 35 % of its followers) or per publication."""
    f = unit.figures
    if report.ranking.basis == PER_FOLLOWER and unit.followers:
        return f.audience / unit.followers, f.engagement / unit.followers
    if report.ranking.basis == PER_FOLLOWER:
        return 0.0, 0.0
    return f.per_publication(f.audience), f.per_publication(f.engagement)


def improved_sentence(report: PeriodReport) -> str:
    """Which unit improved most against the previous period (or why none is named)."""
    previous = report.span.previous()
    first, last = short_date(previous.first_day), short_date(previous.last_day)
    best = report.ranking.most_improved
    if all(u.previous is None for u in report.ranking.units):
        return WORDS["improved_no_data"].format(first=first, last=last)
    if best is None or best.change is None:
        return WORDS["improved_none"].format(first=first, last=last)
    change = fmt_number(best.change, "vi", 1)
    return WORDS["improved"].format(first=first, last=last, name=best.unit.name, change=change)


def vn_minutes(minutes: float | None) -> str:
    """``2 giờ 15 phút``, ``45 phút``; ``chưa trả lời`` for None (nothing answered)."""
    if minutes is None:
        return WORDS["not_answered"]
    return formatting.duration(minutes, "vi", days=False)


def vn_date(day: date) -> str:
    """``ngày 05 tháng 9 năm 2026``: Decree 30 writes days below 10 and months 1 and 2 with
    a leading zero."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def short_date(day: date) -> str:
    """``05/09/2026``, for spans inside sentences."""
    return formatting.day(day, "vi")


def default_path(period: Span, fmt: str) -> Path:
    """``bao-cao-2026-01-01_2026-08-31.docx`` in the working directory."""
    return Path(f"bao-cao-{period.first_day.isoformat()}_{period.last_day.isoformat()}.{fmt}")


def write(report: PeriodReport, fmt: str, out: Path) -> Path:
    """Write ``report`` as ``fmt`` to ``out`` (private to its owner, see content.files)."""
    from scheduler.report_docx import period_docx
    from scheduler.report_xlsx import period_xlsx

    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "docx":
        write_private(out, period_docx(report))
    elif fmt == "xlsx":
        write_private(out, period_xlsx(report))
    else:
        write_private(out, docx_to_pdf(period_docx(report)))
    return out


def soffice() -> str | None:
    """The LibreOffice program, if installed (``soffice`` or ``libreoffice`` on PATH)."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def docx_to_pdf(docx: bytes) -> bytes:
    """The PDF LibreOffice makes of ``docx`` (headless, in a scratch profile and folder)."""
    program = soffice()
    if program is None:
        raise ReportPeriodError("pdf_no_libreoffice")
    with tempfile.TemporaryDirectory(prefix="loa-pdf-") as scratch:
        folder = Path(scratch)
        source = folder / "bao-cao.docx"
        source.write_bytes(docx)
        # A profile of its own: two conversions at once (or an officer's open LibreOffice)
        # would otherwise fight over the user's profile lock.
        profile = (folder / "profile").as_uri()
        command = [
            program,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(source),
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=PDF_TIMEOUT_SECONDS,
                env={**os.environ, "HOME": scratch},
            )
        except subprocess.TimeoutExpired:
            raise ReportPeriodError("pdf_failed", detail="timed out") from None
        pdf = folder / "bao-cao.pdf"
        if done.returncode != 0 or not pdf.is_file():
            detail = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise ReportPeriodError("pdf_failed", detail=detail.splitlines()[-1] if detail else "")
        return pdf.read_bytes()
