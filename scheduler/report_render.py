"""The weekly summary as plain text, mail-safe HTML, a PNG chart and a CSV file.

The HTML is written for mail clients, not browsers: tables for layout, inline ``style``
attributes only (Gmail and Outlook drop ``<style>`` blocks or parts of them), no web fonts,
no external images; the chart is an inline image referenced by ``cid:``.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from content.evaluation import BEHIND, CAMPAIGN, RESPONSE
from scheduler import report_inbox
from scheduler.report_data import (
    METRICS,
    OpenProblem,
    PeriodFigures,
    PostRow,
    Totals,
    WeeklyFigures,
)
from scheduler.report_strings import fmt_change, fmt_number, fmt_rate, strings

#: Rows listed in the open-problems section before "... and N more".
MAX_PROBLEMS_SHOWN = 30
_FONT = Path(__file__).resolve().parent.parent / "content" / "fonts" / "NotoSans-Regular.ttf"

# Inline styles, kept in one place so every table looks the same.
_BODY = "margin:0;padding:16px;background:#f4f4f4;font-family:Arial,Helvetica,sans-serif;"
_CARD = "max-width:760px;margin:0 auto;background:#ffffff;padding:20px;color:#222222;"
_H1 = "font-size:20px;margin:0 0 4px 0;color:#b71c1c;"
_H2 = "font-size:16px;margin:24px 0 8px 0;color:#333333;border-bottom:2px solid #b71c1c;"
_P = "font-size:14px;line-height:1.5;margin:4px 0;"
_SMALL = "font-size:12px;color:#666666;line-height:1.4;margin:8px 0;"
_TABLE = "border-collapse:collapse;width:100%;font-size:13px;"
_TH = "background:#b71c1c;color:#ffffff;padding:6px 8px;text-align:left;border:1px solid #b71c1c;"
_TD = "padding:6px 8px;border:1px solid #dddddd;vertical-align:top;"
_NUM = _TD + "text-align:right;white-space:nowrap;"
_TOTAL = "font-weight:bold;background:#f7f7f7;"


# ---------------------------------------------------------------------- helpers


def esc(value: object) -> str:
    """HTML-escape anything."""
    return html.escape(str(value), quote=True)


def local_time(value: datetime, tz: ZoneInfo) -> str:
    """``2026-11-18 09:30`` in the office's time zone."""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    total: Sequence[str] | None = None,
    raw: Sequence[int] = (),
) -> str:
    """A styled table; cells are escaped except the columns in ``raw`` (pre-built HTML)."""
    head = "".join(f'<th style="{_TH}">{esc(h)}</th>' for h in headers)

    def cells(row: Sequence[str], extra: str = "") -> str:
        out = []
        for i, cell in enumerate(row):
            style = (_NUM if i in numeric else _TD) + extra
            out.append(f'<td style="{style}">{cell if i in raw else esc(cell)}</td>')
        return "".join(out)

    body = "".join(f"<tr>{cells(r)}</tr>" for r in rows)
    if total is not None:
        body += f"<tr>{cells(total, _TOTAL)}</tr>"
    return f'<table cellpadding="0" cellspacing="0" style="{_TABLE}"><tr>{head}</tr>{body}</table>'


def html_document(title: str, inner: str, language: str) -> str:
    """A whole HTML document around ``inner``, styled inline for mail clients."""
    return (
        f'<!DOCTYPE html><html lang="{esc(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title></head>"
        f'<body style="{_BODY}"><div style="{_CARD}">{inner}</div></body></html>\n'
    )


def link(url: str | None, label: str) -> str:
    """An http(s) link, or nothing (never a javascript: or other scheme)."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return ""
    return f'<a href="{esc(url)}" style="color:#0b57d0;">{esc(label)}</a>'


def h1(text: str) -> str:
    """Page heading."""
    return f'<h1 style="{_H1}">{esc(text)}</h1>'


def h2(text: str) -> str:
    """Section heading."""
    return f'<h2 style="{_H2}">{esc(text)}</h2>'


def para(text: str, *, small: bool = False) -> str:
    """A paragraph."""
    return f'<p style="{_SMALL if small else _P}">{esc(text)}</p>'


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
    s = strings(language)
    keys = ("posts", "views", "reach", "reactions", "comments", "shares", "engagement", "rate")
    return [s[k] for k in keys] + [s["per_post"]]


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
        strings(lang)["total"],
        *totals_cells(this, lang)[:-1],
        fmt_change(this.engagement, last.engagement, lang),
    ]


def _channel_headers(lang: str) -> list[str]:
    s = strings(lang)
    return [s["channel"], *totals_headers(lang)[:-1], s["change"]]


def _top_rows(rows: Sequence[PostRow], lang: str, tz: ZoneInfo) -> list[list[str]]:
    return [
        [
            str(i),
            r.title,
            r.channel_name,
            local_time(r.published_at, tz),
            fmt_number(r.value("views"), lang),
            fmt_number(r.engagement, lang),
            fmt_rate(r.rate, lang),
        ]
        for i, r in enumerate(rows, start=1)
    ]


def _top_headers(lang: str) -> list[str]:
    s = strings(lang)
    return ["#", s["title"], s["channel"], s["published"], s["views"], s["engagement"], s["rate"]]


def _campaign_rows(fig: PeriodFigures, lang: str) -> list[list[str]]:
    s = strings(lang)
    return [
        [name or s["no_campaign"], *totals_cells(t, lang)] for name, t in fig.by_campaign.items()
    ]


def _ranking_rows(fig: PeriodFigures, lang: str) -> list[list[str]]:
    s = strings(lang)
    return [
        [
            str(i),
            u.name,
            s["kind_group"] if u.kind == "group" else s["kind_channel"],
            fmt_number(u.totals.publications, lang),
            fmt_number(u.totals.engagement, lang),
            "–" if u.totals.per_post is None else fmt_number(u.totals.per_post, lang, 1),
        ]
        for i, u in enumerate(fig.ranking(), start=1)
    ]


def _ranking_headers(lang: str) -> list[str]:
    s = strings(lang)
    return [s["rank"], s["unit"], s["kind"], s["posts"], s["engagement"], s["per_post"]]


def _problem_rows(problems: Sequence[OpenProblem], lang: str, tz: ZoneInfo) -> list[list[str]]:
    s = strings(lang)
    return [
        [
            f"#{p.post_id}",
            p.title,
            p.channel_name,
            s.get(f"state_{p.state}", p.state),
            p.reason,
            local_time(p.since, tz),
        ]
        for p in problems[:MAX_PROBLEMS_SHOWN]
    ]


def _problem_headers(lang: str) -> list[str]:
    s = strings(lang)
    return [s["post_id"], s["title"], s["channel"], s["state"], s["reason"], s["since"]]


def _period_line(fig: PeriodFigures, lang: str) -> str:
    p = fig.period
    return strings(lang)["period"].format(
        start=p.first_day.isoformat(), end=p.last_day.isoformat(), tz=p.tz.key
    )


def _summary_line(t: Totals, lang: str) -> str:
    return strings(lang)["summary"].format(
        posts=fmt_number(t.publications, lang),
        views=fmt_number(t.value("views"), lang),
        engagement=fmt_number(t.engagement, lang),
        rate=fmt_rate(t.rate, lang),
    )


# ---------------------------------------------------------------------- weekly: text and HTML


def weekly_text(fig: WeeklyFigures) -> str:
    """The plain-text part of the weekly mail."""
    lang, s, tz = fig.language, strings(fig.language), fig.current.period.tz
    num = set(range(1, 10))
    out = [
        s["weekly_heading"].format(week=fig.week) + f" — {fig.office}",
        _period_line(fig.current, lang),
        "",
        _summary_line(fig.current.total, lang),
        s["rate_note"],
        "",
        s["section_channels"],
        text_table(_channel_headers(lang), [*_channel_rows(fig), _channel_total(fig)], num),
        "",
        s["section_top"],
    ]
    top = fig.top
    if top:
        out.append(text_table(_top_headers(lang), _top_rows(top, lang, tz), {0, 4, 5, 6}))
        out += [f"  {i}. {r.permalink}" for i, r in enumerate(top, start=1) if r.permalink]
    else:
        out.append(s["no_posts"])
    out += ["", s["section_campaigns"]]
    campaign_rows = _campaign_rows(fig.current, lang)
    if campaign_rows:
        headers = [s["campaign"], *totals_headers(lang)]
        out.append(text_table(headers, campaign_rows, num))
    else:
        out.append(s["none"])
    out += ["", s["section_problems"]]
    out.append(_problems_text(fig, tz))
    if fig.behind is not None:
        out += ["", s["section_behind"]]
        rows = _behind_rows(fig)
        out.append(text_table(_behind_headers(lang), rows, set()) if rows else s["behind_none"])
    out += ["", s["section_ranking"]]
    out.append(text_table(_ranking_headers(lang), _ranking_rows(fig.current, lang), {0, 3, 4, 5}))
    out += ["", s["section_inbox"], report_inbox.inbox_text(fig.current, lang)]
    out += ["", s["footer"], ""]
    return "\n".join(out)


#: How each kind of target is said in the weekly mail (content.evaluation's kinds).
_TARGET_WORDS = {CAMPAIGN: "target_campaign", RESPONSE: "target_response"}


def _behind_rows(fig: WeeklyFigures) -> list[list[str]]:
    """One row per unit behind target: its name and each target it missed."""
    s = strings(fig.language)
    rows = []
    for unit in fig.behind or ():
        missed = [
            s[_TARGET_WORDS.get(t.kind, "target_channel")].format(
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
    s = strings(lang)
    return [s["unit"], s["targets_missed"]]


def _problems_text(fig: WeeklyFigures, tz: ZoneInfo) -> str:
    lang, s = fig.language, strings(fig.language)
    if not fig.problems:
        return s["none"]
    lines = [
        f"- {post} {title} [{channel}] {state}: {reason} ({since})"
        for post, title, channel, state, reason, since in _problem_rows(fig.problems, lang, tz)
    ]
    hidden = len(fig.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        lines.append(s["more"].format(count=hidden))
    return "\n".join(lines)


def weekly_html(fig: WeeklyFigures, chart_src: str | None) -> str:
    """The HTML part of the weekly mail; ``chart_src`` is ``cid:...`` (or a file name)."""
    lang, s, tz = fig.language, strings(fig.language), fig.current.period.tz
    num = list(range(1, 10))
    parts = [
        h1(s["weekly_heading"].format(week=fig.week)),
        para(f"{fig.office} — {_period_line(fig.current, lang)}"),
        para(_summary_line(fig.current.total, lang)),
        para(s["rate_note"], small=True),
    ]
    if chart_src:
        parts.append(
            f'<p style="margin:12px 0;"><img src="{esc(chart_src)}" width="640" '
            f'alt="{esc(s["chart_alt"])}" style="display:block;max-width:100%;height:auto;'
            'border:0;"></p>'
        )
    parts += [
        h2(s["section_channels"]),
        html_table(
            _channel_headers(lang), _channel_rows(fig), numeric=num, total=_channel_total(fig)
        ),
        h2(s["section_top"]),
    ]
    top = fig.top
    if top:
        rows = _top_rows(top, lang, tz)
        for row, r in zip(rows, top, strict=True):
            row[1] = esc(r.title) + (
                f"<br>{link(r.permalink, s['open_link'])}" if r.permalink else ""
            )
        parts.append(html_table(_top_headers(lang), rows, numeric=[0, 4, 5, 6], raw=[1]))
    else:
        parts.append(para(s["no_posts"]))
    parts.append(h2(s["section_campaigns"]))
    campaign_rows = _campaign_rows(fig.current, lang)
    if campaign_rows:
        headers = [s["campaign"], *totals_headers(lang)]
        parts.append(html_table(headers, campaign_rows, numeric=num))
    else:
        parts.append(para(s["none"]))
    parts.append(h2(s["section_problems"]))
    if fig.problems:
        parts.append(html_table(_problem_headers(lang), _problem_rows(fig.problems, lang, tz)))
        hidden = len(fig.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            parts.append(para(s["more"].format(count=hidden), small=True))
    else:
        parts.append(para(s["none"]))
    if fig.behind is not None:
        parts.append(h2(s["section_behind"]))
        rows = _behind_rows(fig)
        parts.append(html_table(_behind_headers(lang), rows) if rows else para(s["behind_none"]))
    parts += [
        h2(s["section_ranking"]),
        html_table(_ranking_headers(lang), _ranking_rows(fig.current, lang), numeric=[0, 3, 4, 5]),
        h2(s["section_inbox"]),
        report_inbox.inbox_html(fig.current, lang),
        para(s["footer"], small=True),
    ]
    title = s["weekly_subject"].format(week=fig.week, office=fig.office)
    return html_document(title, "".join(parts), lang)


# ---------------------------------------------------------------------- CSV


def csv_headers(language: str) -> list[str]:
    """The columns of the per-post CSV."""
    s = strings(language)
    return [
        s["week"],
        s["post_id"],
        s["channel"],
        s["unit"],
        s["published"],
        s["title"],
        s["campaign"],
        s["author"],
        *(s[m] for m in METRICS),
        s["engagement"],
        s["rate"],
        s["link"],
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
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    s = strings(fig.language)
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
        [p - h / 2 for p in positions], this, h, label=s["this_week"], color="#b71c1c"
    )
    bars_last = ax.barh(
        [p + h / 2 for p in positions], last, h, label=s["last_week"], color="#bdbdbd"
    )
    for bars in (bars_this, bars_last):
        labels = [fmt_number(b.get_width(), fig.language) for b in bars]
        ax.bar_label(bars, labels=labels, padding=3, fontproperties=font, fontsize=8)
    ax.set_yticks(positions)
    ax.set_yticklabels(names, fontproperties=font)
    ax.invert_yaxis()
    ax.set_title(s["chart_title"], fontproperties=font, loc="left")
    # Above the plot, so it never hides a bar.
    ax.legend(prop=font, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False)
    ax.margins(x=0.12)
    # Engagement is a count: no negative axis (its minus sign is a glyph the bundled font
    # lacks), whole numbers only, written as the office writes numbers (1.316 in Vietnamese).
    ax.set_xlim(left=0, right=None if max([*this, *last, 0]) > 0 else 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_number(v, fig.language)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.grid(True, color="#eeeeee")
    ax.set_axisbelow(True)
    for label in ax.get_xticklabels():
        label.set_fontproperties(font)
    figure.tight_layout()
    out = io.BytesIO()
    # No Software/date metadata: the same figures give the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
