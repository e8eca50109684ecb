"""The calendar's days and what each cell says: the weeks and months shown, a post's
lines in a day's column, a day of the month. No widgets here: the calendar screen
(content.ui.calendar) lays these out in its table.
"""

from __future__ import annotations

import calendar as cal
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text

from content.ui import data
from content.ui.fmt import POST_STATE_STYLES, WEEKDAYS, first_line, shown_state
from content.ui.i18n import N_, _, ngettext

WEEK = "week"
MONTH = "month"

#: Month names as the heading says them (the Vietnamese catalogue numbers them instead).
MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)

#: The narrowest a day column gets: below it the calendar scrolls sideways instead.
MIN_CELL = 8
#: From this width the week view puts a post's time and title on one line (``09:00 Cảnh
#: báo…``); narrower, the time has its own line, so the title keeps the whole width.
ONE_LINE_FROM = 14
#: The most lines a post's time and title take in the week view.
WEEK_LINES = 3
#: The month view shows times from this width; narrower, a title says more than a time.
MONTH_TIMES_FROM = 20
#: Each column's padding (DataTable's cell_padding, both sides) and the vertical scrollbar.
CELL_PADDING = 2
SCROLLBAR = 2
#: Lines the screen takes around the table when its size is not known yet (before layout).
CHROME_LINES = 6


def monday_of(day: date) -> date:
    """The Monday of ``day``'s week (weeks start on Monday, as in Vietnam)."""
    return day - timedelta(days=day.weekday())


def month_days(day: date) -> list[date]:
    """The days the month grid of ``day``'s month shows: whole weeks, Monday to Sunday."""
    first = day.replace(day=1)
    last = day.replace(day=cal.monthrange(day.year, day.month)[1])
    start = monday_of(first)
    end = monday_of(last) + timedelta(days=6)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), kept inside the month (31/01 -> 28/02)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, cal.monthrange(year, month)[1]))


def cell_width(screen_width: int) -> int:
    """The text width of one day column when seven share ``screen_width`` columns."""
    return max(MIN_CELL, (screen_width - SCROLLBAR) // 7 - CELL_PADDING)


def wrap(text: str, width: int, lines: int, indent: str = "") -> list[str]:
    """``text`` over at most ``lines`` lines of ``width``, the last cut with "…" if need be."""
    wrapped = textwrap.wrap(text, width, subsequent_indent=indent) or [""]
    if len(wrapped) <= lines:
        return wrapped
    kept = wrapped[:lines]
    rest = " ".join([kept[-1], *(w.strip() for w in wrapped[lines:])])
    kept[-1] = rest if len(rest) <= width else rest[: width - 1].rstrip() + "…"
    return kept


def weekday_name(day: date) -> str:
    """``T4 25/11`` / ``Wed 25/11``: a day as the column headers and dialogs name it."""
    return f"{_(WEEKDAYS[day.weekday()])} {day.strftime('%d/%m')}"


def month_title(day: date) -> str:
    """``November 2026`` / ``Tháng 11/2026``."""
    return _("{month_name} {year}").format(
        month_name=_(MONTHS[day.month - 1]), month=day.month, year=day.year
    )


def count_text(n: int, room: int) -> str:
    """``3 posts`` when it fits in ``room`` characters, else ``(3)``; nothing for none."""
    if not n:
        return ""
    words = ngettext("{n} post", "{n} posts", n).format(n=n)
    return words if len(words) <= room else f"({n})"


@dataclass(frozen=True)
class Moving:
    """The post being moved by keys: where it was, so the screen can show it and say so."""

    post_id: int
    title: str
    at: datetime


@dataclass(frozen=True)
class DaysRead:
    """The posts of the days [start, end), as read."""

    start: date
    end: date
    rows: list[data.QueueRow]


@dataclass(frozen=True)
class Cells:
    """What the cells of one drawing say: the posts read by day, in office time ``tz``,
    with the post being moved (if any) marked; ``clock`` tells late posts."""

    by_day: dict[date, list[data.QueueRow]]
    tz: ZoneInfo
    clock: Callable[[], datetime]
    moving: Moving | None
    #: The table's height in lines.
    height: int

    def state_style(self, row: data.QueueRow) -> str:
        """The style of the row's state as shown (late once its time has passed)."""
        state = shown_state(
            row.state, row.scheduled_at, (d.state for d in row.deliveries), self.clock()
        )
        return POST_STATE_STYLES.get(state, "")

    def post_lines(
        self, row: data.QueueRow, width: int, *, with_time: bool, lines: int = 1
    ) -> list[Text]:
        """A post in at most ``lines`` lines of ``width``: ``09:00 title`` wrapped, or, too
        narrow for both on a line, the time and then the title."""
        clock = row.scheduled_at.astimezone(self.tz).strftime("%H:%M")  # type: ignore[union-attr]
        style = self.state_style(row)
        moving = self.moving is not None and self.moving.post_id == row.id
        mark = "» " if moving else ""
        if moving:
            style = f"{style} reverse".strip()
        title = first_line(row.title or row.text, 500)
        if not with_time:
            texts = wrap(mark + title, width, lines)
        elif width >= ONE_LINE_FROM:
            # Later lines under the title, not under the time.
            texts = wrap(f"{mark}{clock} {title}", width, lines, indent=" " * (len(mark) + 6))
        else:
            texts = [first_line(mark + clock, width), *wrap(title, width, max(lines - 1, 1))]
        return [Text(t, style, no_wrap=True) for t in texts]

    def header(self, day: date, width: int, today: date) -> Text:
        """A day's column header in the week view (today stands out)."""
        style = "bold reverse" if day == today else "bold"
        return Text(first_line(weekday_name(day), width), style)

    def week_heights(self, days: list[date]) -> list[int]:
        """Lines per week: the table's height shared, at least a day's line and a title.

        Lines left over go to the weeks whose busiest day does not fit, busiest first, so
        a quiet month leaves them blank at the bottom rather than stretching every week.
        """
        weeks = len(days) // 7
        usable = self.height - 1  # the weekday names
        base = max(2, usable // weeks)
        spare = max(0, usable - base * weeks)
        busiest = [
            max(len(self.by_day.get(day, [])) for day in days[w * 7 : w * 7 + 7])
            for w in range(weeks)
        ]
        heights = [base] * weeks
        for w in sorted(range(weeks), key=lambda w: (-busiest[w], w)):
            if not spare or busiest[w] <= base - 1:
                break
            grow = min(spare, busiest[w] - (base - 1))
            heights[w] += grow
            spare -= grow
        return heights

    def month_cell(
        self, day: date, width: int, lines: int, today: date, month: int, target: bool
    ) -> Text:
        """A day of the month: its number and post count, then the first titles that fit."""
        posts = self.by_day.get(day, [])
        number = f"{day.day:>2}"
        style = "bold reverse" if day == today else ("bold" if day.month == month else "dim")
        count = count_text(len(posts), width - len(number) - 1)
        head = Text(number, style)
        if count:
            head.append(" " * max(1, width - len(number) - len(count)))
            head.append(count, "bold" if day.month == month else "dim")
        body: list[Text] = []
        moving = self.moving
        if target and moving is not None and moving.at.astimezone(self.tz).date() != day:
            # Where the post being moved would land, before the officer confirms.
            body.append(Text(first_line("→ " + moving.title, width), "bold reverse"))
        room = lines - 1 - len(body)
        if room > 0 and posts:
            shown = posts if len(posts) <= room else posts[: room - 1]
            for row in shown:
                body.extend(self.post_lines(row, width, with_time=width >= MONTH_TIMES_FROM))
            if len(shown) < len(posts):
                more = _("+{n} more").format(n=len(posts) - len(shown))
                body.append(Text(first_line(more, width), "italic"))
        return Text("\n").join([head, *body])
