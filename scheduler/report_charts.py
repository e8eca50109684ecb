"""The periodic report's charts (PNG): every unit's publications against its target, and a
small chart per unit over the period's weeks or months.

Drawn like the weekly mail's chart (:func:`scheduler.report_render.engagement_chart`):
matplotlib's object API on the Agg canvas (no display, safe in the daemon's threads), with
the bundled Noto Sans so Vietnamese names are drawn whole.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from content.evaluation import BEHIND, POSTS_PER_WEEK, Point, Span, UnitStatus
from content.formatting import number as fmt_number
from scheduler.report_period import WORDS

if TYPE_CHECKING:
    from scheduler.report_period import PeriodReport

_FONTS = Path(__file__).resolve().parent.parent / "content" / "fonts"
#: Loa's red for what was done, grey for the target, a darker red for a unit behind.
DONE, TARGET, LATE = "#b71c1c", "#9e9e9e", "#5d0f0f"
DPI = 150


def _font(bold: bool = False) -> Any:
    from matplotlib.font_manager import FontProperties

    path = _FONTS / ("NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf")
    return FontProperties(fname=str(path)) if path.is_file() else FontProperties()


def _png(figure: Any) -> bytes:
    out = io.BytesIO()
    # No Software/date metadata: the same figures give the same bytes.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _count_axis(ax: Any, axis: str) -> None:
    """Whole numbers from 0, written as the office writes them (1.234)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(integer=True, nbins=5))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v, "vi")))
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(_font())
        label.set_fontsize(7)


def overview_chart(report: PeriodReport) -> bytes:
    """Horizontal bars: each unit's own publications beside what its targets require
    (indented under its parent as in the tables); a unit behind is drawn darker."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    units = report.status.units
    names = [u.unit.name for u in units]
    done = [u.own.publications for u in units]
    required = [sum(t.required for t in u.targets if t.kind == POSTS_PER_WEEK) for u in units]
    figure = Figure(figsize=(6.5, 0.9 + 0.32 * max(len(units), 3)), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    positions = range(len(units))
    h = 0.38
    colours = [LATE if u.status == BEHIND else DONE for u in units]
    bars = ax.barh(
        [p - h / 2 for p in positions], done, h, color=colours, label=WORDS["legend_done"]
    )
    ax.barh(
        [p + h / 2 for p in positions], required, h, color=TARGET, label=WORDS["legend_required"]
    )
    ax.bar_label(
        bars,
        labels=[fmt_number(v, "vi") for v in done],
        padding=2,
        fontproperties=_font(),
        fontsize=6,
    )
    ax.set_yticks(list(positions))
    ax.set_yticklabels(names, fontproperties=_font(), fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(left=0, right=max([*done, *required, 1]) * 1.12)
    _count_axis(ax, "x")
    legend = [
        Patch(color=DONE, label=WORDS["legend_done"]),
        Patch(color=LATE, label=WORDS["legend_behind"]),
        Patch(color=TARGET, label=WORDS["legend_required"]),
    ]
    font = _font()
    font.set_size(7)
    ax.legend(
        handles=legend,
        prop=font,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=3,
        frameon=False,
    )
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.grid(True, color="#eeeeee")
    ax.set_axisbelow(True)
    figure.tight_layout()
    return _png(figure)


def unit_charts(report: PeriodReport) -> list[bytes]:
    """A small chart per unit, :data:`PER_IMAGE` to an image (two columns): its
    publications in each week or month (bars) against its target (line). Several to a
    figure, because drawing a figure costs far more than drawing an axes in it."""
    units = report.status.units
    return [_unit_grid(units[i : i + PER_IMAGE], report) for i in range(0, len(units), PER_IMAGE)]


#: Units per image of :func:`unit_charts`: two rows of two, so images fill the pages' gaps.
PER_IMAGE = 4


def _unit_grid(units: list[UnitStatus], report: PeriodReport) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = -(-len(units) // 2)
    figure = Figure(figsize=(6.6, 1.9 * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    for index, unit in enumerate(units):
        ax = figure.add_subplot(rows, 2, index + 1)
        _unit_axes(ax, unit.unit.name, report.series[unit.unit.id], report.span)
    figure.tight_layout(pad=0.4, h_pad=1.0, w_pad=1.5)
    return _png(figure)


def _unit_axes(ax: Any, name: str, points: list[Point], period: Span) -> None:
    positions = list(range(len(points)))
    done = [p.publications for p in points]
    required = [p.required for p in points]
    colours = [LATE if d < r else DONE for d, r in zip(done, required, strict=True)]
    ax.bar(positions, done, 0.7, color=colours)
    if any(required):
        ax.step(positions, required, where="mid", color=TARGET, linewidth=1.2)
    weekly = period.days <= 62
    years = period.first_day.year != period.last_day.year
    labels = [
        f"{p.span.first_day:%d/%m}"
        if weekly
        else (f"{p.span.first_day:%m/%y}" if years else f"T{p.span.first_day.month}")
        for p in points
    ]
    step = max(1, -(-len(points) // 7))  # at most 7 labels: they must not touch
    ax.set_xticks(positions[::step])
    ax.set_xticklabels(labels[::step], fontproperties=_font(), fontsize=6)
    ax.set_ylim(bottom=0, top=max([*done, *required, 1]) * 1.15)
    _count_axis(ax, "y")
    for label in ax.get_xticklabels():
        label.set_fontsize(6)
    ax.set_title(name, fontproperties=_font(bold=True), fontsize=8, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.yaxis.grid(True, color="#eeeeee")
    ax.set_axisbelow(True)
