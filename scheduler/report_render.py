"""The weekly summary as plain text, mail-safe HTML, a PNG chart and a CSV file.

The HTML comes from the Jinja2 template ``weekly.html`` (:mod:`report_html`), written for
mail clients, not browsers: tables for layout, inline ``style`` attributes only (Gmail and
Outlook drop ``<style>`` blocks or parts of them), no web fonts, no external images; the
chart is an inline image referenced by ``cid:``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from content.evaluation import BEHIND, CAMPAIGN, RESPONSE
from content.formatting import change as fmt_change
from content.formatting import day as fmt_day
from content.formatting import number as fmt_number
from content.formatting import percent as fmt_rate
from content.i18n import translation as words
from content.times import local_text, office_text
from scheduler import report_inbox
from scheduler.report_data import (
    METRICS,
    OpenProblem,
    PeriodFigures,
    PostRow,
    Totals,
    WeeklyFigures,
)
from scheduler.report_html import Cell, Table, linked, render

#: Rows listed in the open-problems section before "... and N more".
MAX_PROBLEMS_SHOWN = 30
_FONT = Path(__file__).resolve().parent.parent / "content" / "fonts" / "NotoSans-Regular.ttf"

# ---------------------------------------------------------------------- helpers


def local_time(value: datetime, tz: ZoneInfo, lang: str | None = None) -> str:
    """A time in the office's zone: as the office writes it in ``lang`` (``18/11/2026 09:30``
    in Vietnamese), or ISO ``2026-11-18 09:30`` without one (files programs read: CSV)."""
    return office_text(value, tz, lang) if lang else local_text(value, tz)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """A plain-text table with aligned columns (numbers right-aligned)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(row: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def rate_note(language: str) -> str:
    """How the engagement rate is computed (said under the summary)."""
    return words(language).pgettext(
        "report",
        "Engagement rate = (reactions + comments + shares) / views. Each post's figures are "
        "the latest collected before the end of the period.",
    )


def totals_cells(t: Totals, language: str) -> list[str]:
    """publications, views, reach, reactions, comments, shares, engagement, rate, per post."""
    n = fmt_number
    per_post = "–" if t.per_post is None else n(t.per_post, language, 1)
    return [
        n(t.publications, language),
        n(t.value("views"), language),
        n(t.value("reach"), language),
        n(t.value("reactions"), language),
        n(t.value("comments"), language),
        n(t.value("shares"), language),
        n(t.engagement, language),
        fmt_rate(t.rate, language),
        per_post,
    ]


def totals_headers(language: str) -> list[str]:
    """Headers matching :func:`totals_cells`."""
    s = words(language)
    labels = metric_labels(language)
    keys = ("posts", "views", "reach", "reactions", "comments", "shares", "engagement", "rate")
    return [labels[k] for k in keys] + [s.pgettext("report", "Engagement/post")]


def metric_labels(language: str) -> dict[str, str]:
    """The column header of each figure (:data:`report_data.METRICS`, ``posts``,
    ``engagement``, ``rate``) in ``language``."""
    s = words(language)
    return {
        "posts": s.pgettext("report", "Publications"),
        "views": s.pgettext("report", "Views"),
        "reach": s.pgettext("report", "Reach"),
        "reactions": s.pgettext("report", "Reactions"),
        "comments": s.pgettext("report", "Comments"),
        "shares": s.pgettext("report", "Shares"),
        "clicks": s.pgettext("report", "Clicks"),
        "engagement": s.pgettext("report", "Engagement"),
        "rate": s.pgettext("report", "Engagement rate"),
    }


# ---------------------------------------------------------------------- weekly sections


def _channel_rows(fig: WeeklyFigures) -> list[list[str]]:
    lang = fig.language
    rows = []
    for cid, this in fig.current.by_channel.items():
        last = fig.previous.by_channel.get(cid, Totals())
        name = fig.current.channel_names.get(cid, cid)
        change = fmt_change(this.engagement, last.engagement, lang)
        rows.append([name, *totals_cells(this, lang)[:-1], change])
    return rows


def _channel_total(fig: WeeklyFigures) -> list[str]:
    lang = fig.language
    this, last = fig.current.total, fig.previous.total
    return [
        words(lang).pgettext("report", "Total"),
        *totals_cells(this, lang)[:-1],
        fmt_change(this.engagement, last.engagement, lang),
    ]


def _channel_headers(lang: str) -> list[str]:
    s = words(lang)
    return [
        s.pgettext("report", "Channel"),
        *totals_headers(lang)[:-1],
        s.pgettext("report", "Change from last week"),
    ]


def _top_rows(rows: Sequence[PostRow], lang: str, tz: ZoneInfo) -> list[list[str]]:
    return [
        [
            str(i),
            r.title,
            r.channel_name,
            local_time(r.published_at, tz, lang),
            fmt_number(r.value("views"), lang),
            fmt_number(r.engagement, lang),
            fmt_rate(r.rate, lang),
        ]
        for i, r in enumerate(rows, start=1)
    ]


def _top_headers(lang: str) -> list[str]:
    s = words(lang)
    return [
        "#",
        s.pgettext("report", "Post"),
        s.pgettext("report", "Channel"),
        s.pgettext("report", "Published"),
        s.pgettext("report", "Views"),
        s.pgettext("report", "Engagement"),
        s.pgettext("report", "Engagement rate"),
    ]


def _campaign_rows(fig: PeriodFigures, lang: str) -> list[list[str]]:
    s = words(lang)
    return [
        [name or s.pgettext("report", "(no campaign)"), *totals_cells(t, lang)]
        for name, t in fig.by_campaign.items()
    ]


def _ranking_rows(fig: PeriodFigures, lang: str) -> list[list[str]]:
    s = words(lang)
    return [
        [
            str(i),
            u.name,
            s.pgettext("report", "group") if u.kind == "group" else s.pgettext("report", "channel"),
            fmt_number(u.totals.publications, lang),
            fmt_number(u.totals.engagement, lang),
            "–" if u.totals.per_post is None else fmt_number(u.totals.per_post, lang, 1),
        ]
        for i, u in enumerate(fig.ranking(), start=1)
    ]


def _ranking_headers(lang: str) -> list[str]:
    s = words(lang)
    return [
        s.pgettext("report", "Rank"),
        s.pgettext("report", "Unit"),
        s.pgettext("report", "Type"),
        s.pgettext("report", "Publications"),
        s.pgettext("report", "Engagement"),
        s.pgettext("report", "Engagement/post"),
    ]


def _problem_rows(problems: Sequence[OpenProblem], lang: str, tz: ZoneInfo) -> list[list[str]]:
    s = words(lang)
    states = {
        "failed": s.pgettext("report", "Failed"),
        "needs_review": s.pgettext("report", "Needs review"),
    }
    return [
        [
            f"#{p.post_id}",
            p.title,
            p.channel_name,
            states.get(p.state, p.state),
            p.reason,
            local_time(p.since, tz, lang),
        ]
        for p in problems[:MAX_PROBLEMS_SHOWN]
    ]


def _problem_headers(lang: str) -> list[str]:
    s = words(lang)
    return [
        s.pgettext("report", "Post id"),
        s.pgettext("report", "Post"),
        s.pgettext("report", "Channel"),
        s.pgettext("report", "State"),
        s.pgettext("report", "Reason"),
        s.pgettext("report", "Since"),
    ]


def _period_line(fig: PeriodFigures, lang: str) -> str:
    p = fig.period
    return (
        words(lang)
        .pgettext("report", "From {start} to {end} ({tz} time)")
        .format(start=fmt_day(p.first_day, lang), end=fmt_day(p.last_day, lang), tz=p.tz.key)
    )


def _summary_line(t: Totals, lang: str) -> str:
    return (
        words(lang)
        .pgettext(
            "report",
            "{posts} publications, {views} views, {engagement} engagements, "
            "engagement rate {rate}.",
        )
        .format(
            posts=fmt_number(t.publications, lang),
            views=fmt_number(t.value("views"), lang),
            engagement=fmt_number(t.engagement, lang),
            rate=fmt_rate(t.rate, lang),
        )
    )


# ---------------------------------------------------------------------- weekly: text and HTML


def weekly_text(fig: WeeklyFigures) -> str:
    """The plain-text part of the weekly mail."""
    lang, s, tz = fig.language, words(fig.language), fig.current.period.tz
    num = set(range(1, 10))
    out = [
        s.pgettext("report", "Engagement report, week {week}").format(week=fig.week)
        + f" — {fig.office}",
        _period_line(fig.current, lang),
        "",
        _summary_line(fig.current.total, lang),
        rate_note(lang),
        "",
        s.pgettext("report", "By channel"),
        text_table(_channel_headers(lang), [*_channel_rows(fig), _channel_total(fig)], num),
        "",
        s.pgettext("report", "Top five posts"),
    ]
    top = fig.top
    if top:
        out.append(text_table(_top_headers(lang), _top_rows(top, lang, tz), {0, 4, 5, 6}))
        out += [f"  {i}. {r.permalink}" for i, r in enumerate(top, start=1) if r.permalink]
    else:
        out.append(s.pgettext("report", "Nothing was published in this period."))
    out += ["", s.pgettext("report", "By campaign")]
    campaign_rows = _campaign_rows(fig.current, lang)
    if campaign_rows:
        headers = [s.pgettext("report", "Campaign"), *totals_headers(lang)]
        out.append(text_table(headers, campaign_rows, num))
    else:
        out.append(s.pgettext("report", "None."))
    out += ["", s.pgettext("report", "Failed posts and posts to review (still open)")]
    out.append(_problems_text(fig, tz))
    if fig.behind is not None:
        out += ["", s.pgettext("report", "Units behind target")]
        rows = _behind_rows(fig)
        out.append(
            text_table(_behind_headers(lang), rows, set())
            if rows
            else s.pgettext("report", "Every unit met its targets.")
        )
    out += ["", s.pgettext("report", "Units ranked by engagement per post")]
    out.append(text_table(_ranking_headers(lang), _ranking_rows(fig.current, lang), {0, 3, 4, 5}))
    out += [
        "",
        s.pgettext("report", "Citizens' messages"),
        report_inbox.inbox_text(fig.current, lang),
    ]
    out += [
        "",
        s.pgettext(
            "report", "Sent automatically by Loa. Per-post figures are in the attached CSV file."
        ),
        "",
    ]
    return "\n".join(out)


#: How each kind of target is said in the weekly mail (content.evaluation's kinds).
def _target_words(lang: str) -> dict[str, str]:
    s = words(lang)
    return {
        CAMPAIGN: s.pgettext("report", "campaign «{campaign}»: {done}/{required} posts"),
        RESPONSE: s.pgettext(
            "report",
            "answering citizens: median {done} min (promised {required} min), "
            "{answered}/{received} answered",
        ),
        "": s.pgettext("report", "{channel}: {done}/{required} publications"),
    }


def _behind_rows(fig: WeeklyFigures) -> list[list[str]]:
    """One row per unit behind target: its name and each target it missed."""
    said = _target_words(fig.language)
    rows = []
    for unit in fig.behind or ():
        missed = [
            said.get(t.kind, said[""]).format(
                channel=t.subject,
                campaign=t.subject,
                done="–" if t.done is None else t.done,
                required=t.required,
                answered=t.answered,
                received=t.received,
            )
            for t in unit.targets
            if t.status == BEHIND
        ]
        rows.append([unit.unit.name, "; ".join(missed)])
    return rows


def _behind_headers(lang: str) -> list[str]:
    s = words(lang)
    return [s.pgettext("report", "Unit"), s.pgettext("report", "Targets missed")]


def _problems_text(fig: WeeklyFigures, tz: ZoneInfo) -> str:
    lang, s = fig.language, words(fig.language)
    if not fig.problems:
        return s.pgettext("report", "None.")
    lines = [
        f"- {post} {title} [{channel}] {state}: {reason} ({since})"
        for post, title, channel, state, reason, since in _problem_rows(fig.problems, lang, tz)
    ]
    hidden = len(fig.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        lines.append(s.pgettext("report", "… and {count} more").format(count=hidden))
    return "\n".join(lines)


def weekly_subject(fig: WeeklyFigures) -> str:
    """The mail's subject (and the HTML page's title)."""
    text = words(fig.language).pgettext("report", "Weekly report {week} — {office}")
    return text.format(week=fig.week, office=fig.office)


def weekly_html(fig: WeeklyFigures, chart_src: str | None, templates: Path | None = None) -> str:
    """The HTML part of the weekly mail (template ``weekly.html``, from the office's
    ``templates`` folder when it has one); ``chart_src`` is ``cid:...`` (or a file name)."""
    lang, s, tz = fig.language, words(fig.language), fig.current.period.tz
    num = list(range(1, 10))
    top = fig.top
    top_rows: list[list[Cell]] = [list(row) for row in _top_rows(top, lang, tz)]
    for row, r in zip(top_rows, top, strict=True):
        row[1] = linked(r.title, r.permalink, s.pgettext("report", "Open"))
    hidden = len(fig.problems) - MAX_PROBLEMS_SHOWN
    campaign_headers = [s.pgettext("report", "Campaign"), *totals_headers(lang)]
    w = {
        "subject": weekly_subject(fig),
        "heading": s.pgettext("report", "Engagement report, week {week}").format(week=fig.week),
        "period": _period_line(fig.current, lang),
        "summary": _summary_line(fig.current.total, lang),
        "rate_note": rate_note(lang),
        "chart_alt": s.pgettext(
            "report", "Chart of engagement per channel, this week against last week"
        ),
        "section_channels": s.pgettext("report", "By channel"),
        "section_top": s.pgettext("report", "Top five posts"),
        "no_posts": s.pgettext("report", "Nothing was published in this period."),
        "section_campaigns": s.pgettext("report", "By campaign"),
        "none": s.pgettext("report", "None."),
        "section_problems": s.pgettext("report", "Failed posts and posts to review (still open)"),
        "section_behind": s.pgettext("report", "Units behind target"),
        "behind_none": s.pgettext("report", "Every unit met its targets."),
        "section_ranking": s.pgettext("report", "Units ranked by engagement per post"),
        "section_inbox": s.pgettext("report", "Citizens' messages"),
        "footer": s.pgettext(
            "report", "Sent automatically by Loa. Per-post figures are in the attached CSV file."
        ),
    }
    return render(
        "weekly.html",
        templates,
        language=lang,
        office=fig.office,
        w=w,
        chart_src=chart_src,
        channels=Table(
            _channel_headers(lang), _channel_rows(fig), numeric=num, total=_channel_total(fig)
        ),
        top=Table(_top_headers(lang), top_rows, numeric=[0, 4, 5, 6]),
        campaigns=Table(campaign_headers, _campaign_rows(fig.current, lang), numeric=num),
        problems=Table(_problem_headers(lang), _problem_rows(fig.problems, lang, tz)),
        more=s.pgettext("report", "… and {count} more").format(count=hidden) if hidden > 0 else "",
        behind=None if fig.behind is None else Table(_behind_headers(lang), _behind_rows(fig)),
        ranking=Table(
            _ranking_headers(lang), _ranking_rows(fig.current, lang), numeric=[0, 3, 4, 5]
        ),
        **report_inbox.inbox_context(fig.current, lang),
    )


# ---------------------------------------------------------------------- CSV


def csv_headers(language: str) -> list[str]:
    """The columns of the per-post CSV."""
    s = words(language)
    return [
        s.pgettext("report", "Week"),
        s.pgettext("report", "Post id"),
        s.pgettext("report", "Channel"),
        s.pgettext("report", "Unit"),
        s.pgettext("report", "Published"),
        s.pgettext("report", "Post"),
        s.pgettext("report", "Campaign"),
        s.pgettext("report", "Author"),
        *(metric_labels(language)[m] for m in METRICS),
        s.pgettext("report", "Engagement"),
        s.pgettext("report", "Engagement rate"),
        s.pgettext("report", "Link"),
    ]


def posts_csv(rows: Sequence[PostRow], label: str, language: str, tz: ZoneInfo) -> str:
    """One line per publication. Numbers are plain (``1234``, rate ``0.0523``) so a
    spreadsheet reads them as numbers; starts with a BOM so Excel detects UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_headers(language))
    for r in rows:
        writer.writerow(
            [
                label,
                r.post_id,
                r.channel,
                r.channel_name,
                local_time(r.published_at, tz),
                _csv_safe(r.title),
                _csv_safe(r.campaign or ""),
                _csv_safe(r.author),
                *(_plain(r.value(m)) for m in METRICS),
                _plain(r.engagement),
                "" if r.rate is None else f"{r.rate:.4f}",
                r.permalink or "",
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _csv_safe(text: str) -> str:
    """Defuse spreadsheet formulas in free text (CSV injection): a leading = + - @ is quoted."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# ---------------------------------------------------------------------- chart


def engagement_chart(fig: WeeklyFigures) -> bytes:
    """A PNG bar chart: engagement per channel, this week against last week.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend
    switch), so it is safe in the daemon's worker threads and needs no display.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    s = words(fig.language)
    font = FontProperties(fname=str(_FONT)) if _FONT.is_file() else FontProperties()
    channels = list(fig.current.by_channel)
    names = [fig.current.channel_names.get(c, c) for c in channels]
    this = [fig.current.by_channel[c].engagement for c in channels]
    last = [fig.previous.by_channel.get(c, Totals()).engagement for c in channels]

    figure = Figure(figsize=(8, 1.2 + 0.6 * max(len(channels), 2)), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    positions = list(range(len(channels)))
    h = 0.38
    bars_this = ax.barh(
        [p - h / 2 for p in positions],
        this,
        h,
        label=s.pgettext("report", "This week"),
        color="#b71c1c",
    )
    bars_last = ax.barh(
        [p + h / 2 for p in positions],
        last,
        h,
        label=s.pgettext("report", "Last week"),
        color="#bdbdbd",
    )
    for bars in (bars_this, bars_last):
        labels = [fmt_number(b.get_width(), fig.language) for b in bars]
        ax.bar_label(bars, labels=labels, padding=3, fontproperties=font, fontsize=8)
    ax.set_yticks(positions)
    ax.set_yticklabels(names, fontproperties=font)
    ax.invert_yaxis()
    ax.set_title(s.pgettext("report", "Engagement per channel"), fontproperties=font, loc="left")
    # Above the plot, so it never hides a bar.
    ax.legend(prop=font, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)
    _count_axis(ax, font, fig.language, empty=max([*this, *last, 0]) <= 0)
    figure.tight_layout()
    out = io.BytesIO()
    # No Software/date metadata: the same figures give the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _count_axis(ax: Any, font: Any, language: str, *, empty: bool) -> None:
    """The horizontal axis of a chart of counts; ``empty`` when every bar is zero."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.margins(x=0.12)
    # Engagement is a count: no negative axis (its minus sign is a glyph the bundled font
    # lacks), whole numbers only, written as the office writes numbers (1.316 in Vietnamese).
    ax.set_xlim(left=0, right=1 if empty else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v, language)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.grid(True, color="#eeeeee")
    ax.set_axisbelow(True)
    for label in ax.get_xticklabels():
        label.set_fontproperties(font)
