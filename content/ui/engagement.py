"""What published posts achieved: a chart of one metric per publication, and totals.

The posts table has a sparkline of the chosen metric over time for each publication (from
every sample the daemon collected) beside its newest value; under it (beside it on a wide
terminal) the totals of the last 30 days per channel and per unit. The units are the tree
of channels.toml where it has one (each unit indented under its parent, its figures rolled
up over the units under it, as ``loa units status`` rolls them), else its channel groups.
Once the daemon has counted them, each channel's and unit's followers stand beside the
totals. M switches the metric everything shows. Reads are the library's
(:mod:`content.engagement`), as a report or the CLI would make them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from sqlalchemy import Engine
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.widgets import DataTable, Footer, Header, Static

from content.engagement import (
    Totals,
    channel_totals,
    latest_followers,
    metric_series,
    unit_totals,
)
from content.office import ChannelDirectory
from content.ui import data
from content.ui.base import PollingScreen
from content.ui.charts import resample, sparkline
from content.ui.fmt import first_line, number, when
from content.ui.i18n import N_, _, language

#: Metrics shown first when present, as officers name them (others follow, by name).
KNOWN_METRICS = {
    "views": N_("Views"),
    "reach": N_("Reach"),
    "impressions": N_("Impressions"),
    "reactions": N_("Reactions"),
    "comments": N_("Comments"),
    "shares": N_("Shares"),
    "clicks": N_("Clicks"),
}
#: The totals cover what was published in the last days: a month, what offices report on.
TOTALS_DAYS = 30
#: From this width the totals stand beside the posts instead of under them, this wide
#: (engagement.tcss says the same).
WIDE_FROM = 150
TOTALS_WIDTH = 52
#: Each column's padding (both sides) and the table's vertical scrollbar.
CELL_PADDING = 2
SCROLLBAR = 2
#: The text column keeps at least this much before other metrics get a column.
TEXT_BEFORE_EXTRAS = 28
#: Beyond this, room goes to the chart (a longer history) rather than the text.
TEXT_ENOUGH = 50
TREND_MIN, TREND_MAX = 12, 30
VALUE_WIDTH = 9
#: Each level of the unit tree indents a unit's name this much in the totals.
INDENT = 1


def metric_label(name: str) -> str:
    """A metric as officers name it, in the current language (unknown ones as reported)."""
    label = KNOWN_METRICS.get(name)
    return _(label) if label else name


def ordered_metrics(names: set[str]) -> list[str]:
    """The known metrics first, in the officers' order, then the others by name."""
    return [n for n in KNOWN_METRICS if n in names] + sorted(
        n for n in names if n not in KNOWN_METRICS
    )


@dataclass(frozen=True)
class Columns:
    """The widths of the posts table at one terminal width."""

    published: int
    channel: int
    text: int
    trend: int
    extras: int


def post_columns(width: int, channel: int, others: int) -> Columns:
    """Fit the posts table to ``width`` cells: the text and the chart share what is left.

    ``channel`` is the longest channel name shown; ``others`` how many metrics besides the
    chosen one could have a column of their own (they get one only where the text keeps
    :data:`TEXT_BEFORE_EXTRAS`).
    """
    published = 16 if width >= 120 else 11
    trend = TREND_MIN
    fixed = 4 + published + channel + trend + VALUE_WIDTH
    text = width - SCROLLBAR - fixed - CELL_PADDING * 6
    extras = 0
    while extras < others and text - (VALUE_WIDTH + CELL_PADDING) >= TEXT_BEFORE_EXTRAS:
        extras += 1
        text -= VALUE_WIDTH + CELL_PADDING
    if text > TEXT_ENOUGH:
        grow = min(text - TEXT_ENOUGH, TREND_MAX - trend)
        trend += grow
        text -= grow
    return Columns(published, channel, max(text, 10), trend, extras)


@dataclass(frozen=True)
class TotalsLine:
    """A line of a totals table: a channel, a unit (indented by its depth) or a group."""

    name: str
    totals: Totals
    depth: int = 0
    #: Its followers as last counted (None: not counted; a unit: unless each channel was).
    followers: int | None = None


@dataclass(frozen=True)
class Figures:
    """What the screen shows, read in one go (plain values, safe to pass between threads)."""

    rows: list[data.EngagementRow]
    #: Every metric reported, known ones first; ``metric`` is the one charted.
    names: list[str]
    metric: str | None
    series: dict[int, list[tuple[datetime, float]]]
    by_channel: dict[str, Totals]
    #: The units' lines: the unit tree in tree order, rolled up, else the channel groups.
    by_unit: list[TotalsLine]
    #: Each channel's latest follower count (absent: never counted).
    followers: dict[str, int]


def followers_of(counts: dict[str, int], channels: list[str]) -> int | None:
    """The sum of ``channels``' counts; None unless every one of them was counted."""
    if not channels or any(c not in counts for c in channels):
        return None
    return sum(counts[c] for c in channels)


def unit_lines(
    directory: ChannelDirectory,
    by_channel: dict[str, Totals],
    counts: dict[str, int],
    visible: frozenset[str] | None,
) -> list[TotalsLine]:
    """The units' totals: with a unit tree, every unit in tree order with its subtree's
    figures and followers (only the channels ``visible`` to the account; a unit left with
    none is not shown); without one, each channel group of channels.toml."""
    tree = directory.units
    if tree:
        groups = {unit.id: tree.channels_of(unit.id) for unit in tree}
    else:
        groups = dict(directory.groups)
    totals = unit_totals(by_channel, groups, channels=visible)
    lines = []
    for key, total in totals.items():
        seen = [c for c in groups[key] if visible is None or c in visible]
        if tree:
            name, depth = tree[key].name, tree.depth(key)
        else:
            name, depth = key, 0
        lines.append(TotalsLine(name, total, depth, followers_of(counts, seen)))
    return lines


def read_figures(
    engine: Engine,
    directory: ChannelDirectory,
    visible: frozenset[str] | None,
    since: datetime,
    metric: str | None,
) -> Figures:
    """The publications, ``metric``'s history of each (the first metric reported when it is
    None or no longer reported), and the totals of what was published from ``since``."""
    rows = data.engagement(engine, visible=visible)
    by_channel = channel_totals(engine, since=since, channels=visible)
    names = ordered_metrics(
        {n for row in rows for n in row.metrics}
        | {n for totals in by_channel.values() for n in totals.sums}
    )
    if metric not in names:
        metric = names[0] if names else None
    series = metric_series(engine, [row.delivery_id for row in rows], metric) if metric else {}
    counts = latest_followers(engine, channels=visible)
    by_unit = unit_lines(directory, by_channel, counts, visible)
    return Figures(rows, names, metric, series, by_channel, by_unit, counts)


class EngagementScreen(PollingScreen[Figures]):
    """The most recent publications, a chart of each, and totals per channel and unit."""

    CSS_PATH = "engagement.tcss"
    #: Figures change as often as the daemon collects them (minutes): read a tenth as often.
    REFRESH_EVERY = 10

    HELP_TEXT = N_(
        "The most recently published posts, one line per channel, with a small chart of "
        "how one figure (views, reactions, comments...) grew since publication and its "
        "newest value, as the daemon collected them from the platform. Press M to chart "
        "another figure. The totals add up the publications of the last 30 days per "
        "channel and per unit (a unit counts the units under it), with the followers "
        "the daemon last counted. Press Enter to open a post."
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "next_metric", "Other figure"),
        Binding("r,f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.post_ids: list[int] = []
        #: The metric charted; None until the first read says which ones exist.
        self.metric: str | None = None
        self.figures: Figures | None = None
        self.title = _("Engagement")

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="metric-bar")
        with Container(id="engagement-body"):
            yield DataTable(id="engagement", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="engagement-totals"):
                yield DataTable(id="totals-channel", cursor_type="none", zebra_stripes=True)
                yield DataTable(id="totals-unit", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#engagement", DataTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= WIDE_FROM, "-wide")
        if self.figures is not None:
            self._draw(self.figures)

    def fetch(self) -> Callable[[], Figures]:
        """The figures of the metric charted now, totals from :data:`TOTALS_DAYS` ago."""
        ctx, metric = self.ctx, self.metric
        engine, directory, visible = ctx.engine, ctx.directory, ctx.visible
        since = ctx.clock() - timedelta(days=TOTALS_DAYS)
        return lambda: read_figures(engine, directory, visible, since, metric)

    def show(self, result: Figures) -> None:
        """Draw the figures read; the metric they chart becomes the screen's."""
        self.metric = result.metric
        self.figures = result
        self._draw(result)

    # ------------------------------------------------------------------ drawing

    def _draw(self, figures: Figures) -> None:
        self._show_bar(figures)
        self._show_posts(figures)
        self._show_totals(figures)

    def _show_bar(self, figures: Figures) -> None:
        bar = self.query_one("#metric-bar", Static)
        if figures.metric is None:
            bar.update(_("No figures collected yet: the daemon reads them after publishing."))
            return
        count = len(figures.names)
        position = figures.names.index(figures.metric) + 1
        bar.update(
            _("Figure: {metric} ({n} of {count}) · totals of the last {days} days").format(
                metric=metric_label(figures.metric), n=position, count=count, days=TOTALS_DAYS
            )
        )

    def _show_posts(self, figures: Figures) -> None:
        table: DataTable[Any] = self.query_one("#engagement", DataTable)
        metric = figures.metric
        others = [n for n in figures.names if n != metric]
        channel = min(max([len(r.channel) for r in figures.rows] + [5]), 16)
        # From the screen's width, not the table's: on the first draw and right after a
        # resize the table still has its old size.
        screen = self.size.width or 80
        width = screen - TOTALS_WIDTH if screen >= WIDE_FROM else screen
        layout = post_columns(width, channel, len(others))
        extras = others[: layout.extras]
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_column(_("No."), key="id", width=4)
        table.add_column(_("Published"), key="published", width=layout.published)
        table.add_column(_("Channel"), key="channel", width=layout.channel)
        table.add_column(_("Text"), key="text", width=layout.text)
        table.add_column(_("Trend"), key="trend", width=layout.trend)
        table.add_column(
            Text(metric_label(metric) if metric else "-", justify="right"),
            key="value",
            width=VALUE_WIDTH,
        )
        for name in extras:
            table.add_column(
                Text(metric_label(name), justify="right"), key=f"m:{name}", width=VALUE_WIDTH
            )
        tz = self.ctx.tz
        # Day and month first in Vietnamese; within the last hundred posts the year is clear.
        short = "%d/%m %H:%M" if language() == "vi" else "%m-%d %H:%M"
        self.post_ids = []
        for row in figures.rows:
            self.post_ids.append(row.post_id)
            published = row.published_at.astimezone(tz) if row.published_at else None
            points = figures.series.get(row.delivery_id, [])
            chart = sparkline(resample(points, layout.trend))
            table.add_row(
                Text(str(row.post_id), justify="right"),
                when(row.published_at, tz)
                if layout.published == 16 or published is None
                else published.strftime(short),
                Text(row.channel, no_wrap=True, overflow="ellipsis"),
                Text(first_line(row.title, layout.text), no_wrap=True, overflow="ellipsis"),
                Text(chart or "-", "cyan" if chart else "dim"),
                *[self._value(row, n) for n in ([metric] if metric else []) + extras],
                *([] if metric else [Text("-")]),
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    @staticmethod
    def _value(row: data.EngagementRow, name: str) -> Text:
        value = row.metrics.get(name)
        return Text(number(value) if value is not None else "-", justify="right")

    def _show_totals(self, figures: Figures) -> None:
        metric = figures.metric
        channels = self.query_one("#totals-channel", DataTable)
        units = self.query_one("#totals-unit", DataTable)
        # The followers column appears once the daemon has counted any channel.
        followers = bool(figures.followers)
        screen = self.size.width or 80
        wide = screen >= WIDE_FROM
        tree = bool(self.ctx.directory.units)
        # Under the posts at 80 columns a unit tree takes the whole width (its names are
        # long, and each channel's figures are on the channels screen); otherwise the two
        # tables share it, or stand one above the other beside the posts.
        channel_shown = wide or not tree
        if wide:
            room = TOTALS_WIDTH - 1
        else:
            room = screen if not channel_shown else screen // 2
        channel_lines = [
            TotalsLine(c, figures.by_channel.get(c, Totals()), 0, figures.followers.get(c))
            for c in self.ctx.channel_ids()
        ]
        self._fill_totals(channels, _("Channel"), channel_lines, metric, followers, room)
        self._fill_totals(units, _("Unit"), figures.by_unit, metric, followers, room)
        channels.display = channel_shown
        units.display = bool(figures.by_unit)

    @staticmethod
    def _fill_totals(
        table: DataTable[Any],
        heading: str,
        lines: list[TotalsLine],
        metric: str | None,
        followers: bool,
        room: int,
    ) -> None:
        """Fill a totals table; the name column gets what the figures leave of ``room``
        cells (a long unit name is cut with an ellipsis rather than pushing a figure off)."""
        table.clear(columns=True)
        headers = [_("Posts"), metric_label(metric) if metric else "-"]
        if followers:
            headers.append(_("Followers"))
        rows = []
        for line in lines:
            values = [
                number(line.totals.publications),
                number(line.totals.value(metric)) if metric else "-",
            ]
            if followers:
                count = line.followers
                values.append(number(count) if count is not None else "-")
            rows.append((" " * (INDENT * line.depth) + line.name, values))
        widths = [
            max([len(h)] + [len(values[i]) for _name, values in rows])
            for i, h in enumerate(headers)
        ]
        longest = max([len(heading)] + [len(name) for name, _values in rows])
        left = room - SCROLLBAR - sum(widths) - CELL_PADDING * (len(widths) + 1)
        table.add_column(heading, key="name", width=min(longest, max(8, left)))
        for key, header, width in zip(
            ("posts", "total", "followers"), headers, widths, strict=False
        ):
            table.add_column(Text(header, justify="right"), key=key, width=width)
        for name, values in rows:
            table.add_row(
                Text(name, no_wrap=True, overflow="ellipsis"),
                *[Text(v, justify="right") for v in values],
            )
        # As tall as its header and rows (engagement.tcss caps it): set here rather than left
        # to "auto", which reads the table's size only once it has measured its new rows on
        # idle, and on a busy machine could leave the box laid out for the empty table.
        table.styles.height = len(rows) + 1

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#engagement")
    def _open(self, event: DataTable.RowSelected) -> None:
        from content.ui.detail import DetailScreen

        if 0 <= event.cursor_row < len(self.post_ids):
            self.app.push_screen(DetailScreen(self.post_ids[event.cursor_row]))

    def action_next_metric(self) -> None:
        """Chart and add up the next figure (views, reactions, comments...)."""
        figures = self.figures
        if figures is None or not figures.names:
            return
        index = figures.names.index(figures.metric) if figures.metric in figures.names else -1
        self.metric = figures.names[(index + 1) % len(figures.names)]
        self.reload()

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()
