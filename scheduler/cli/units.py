"""`loa units list|status|rank`: the unit tree, who is on track and who is behind, and the
ranking for reward; thin faces over :mod:`content.evaluation`."""

from __future__ import annotations

import argparse
from datetime import date

from content.errors import ValidationError
from content.evaluation import (
    CAMPAIGN,
    PER_FOLLOWER,
    RESPONSE,
    Span,
    StatusReport,
    publications,
    ranking,
    span,
    status,
    week_of,
)
from content.formatting import day
from content.i18n import N_, _, ngettext
from content.times import parse_date, utcnow
from scheduler.cli.common import Context, print_json, subcommand_parent
from scheduler.report_data import parse_week

#: How a status is written in the text output (msgids; "behind" in capitals stands out).
_STATUS = {
    "met": N_("met"),
    "on_track": N_("on track"),
    "behind": N_("BEHIND"),
    "no_target": N_("no target"),
}
#: The ranking's columns: (msgid, width); a heading is aligned as its column's figures.
_RANK_COLUMNS = (
    (N_("rank"), 4),
    (N_("score"), 5),
    (N_("delivery"), 8),
    (N_("audience"), 8),
    (N_("engagement"), 10),
    (N_("response"), 8),
    (N_("on time/required"), 16),
    (N_("publications"), 12),
    (N_("followers"), 9),
)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``units`` commands."""
    units = subparsers.add_parser("units", help="units: targets, status and ranking")
    sub = units.add_subparsers(title="units commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    ls = sub.add_parser("list", parents=[parent], help="the unit tree of channels.toml")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)

    st = sub.add_parser(
        "status",
        parents=[parent],
        help="who is on track and who is behind target",
        description="Default: the current week (Monday to Sunday, office time), as of now.",
    )
    _period_options(st, required=False)
    st.add_argument("--week", metavar="YYYY-Www", help="an ISO week instead, e.g. 2026-W48")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.set_defaults(handler=run_status)

    rk = sub.add_parser(
        "rank",
        parents=[parent],
        help="units ranked by score for a period, with the figures behind each rank",
    )
    _period_options(rk, required=True)
    rk.add_argument("--json", action="store_true", help="machine-readable output")
    rk.set_defaults(handler=run_rank)


def _period_options(cmd: argparse.ArgumentParser, *, required: bool) -> None:
    cmd.add_argument("--from", dest="date_from", required=required, metavar="YYYY-MM-DD")
    cmd.add_argument(
        "--to", dest="date_to", required=required, metavar="YYYY-MM-DD", help="inclusive"
    )


def _units_required(ctx: Context) -> None:
    if not ctx.config.units:
        raise ValidationError("no_units", path=str(ctx.config.path))


def run_list(args: argparse.Namespace) -> int:
    """Print the tree: each unit indented under its parent, with its channels and target."""
    ctx = Context(args)
    _units_required(ctx)
    tree = ctx.config.units
    if args.json:
        print_json(
            {
                "units": [
                    {
                        "id": u.id,
                        "name": u.name,
                        "parent": u.parent,
                        "channels": list(u.channels),
                        "posts_per_week": u.posts_per_week,
                    }
                    for u in tree
                ],
                "campaign_quotas": [
                    {
                        "campaign": q.campaign,
                        "from": q.first_day.isoformat(),
                        "to": q.last_day.isoformat(),
                        "posts_per_unit": q.posts_per_unit,
                        "units": list(q.units),
                    }
                    for q in tree.quotas
                ],
            }
        )
        return 0
    for unit in tree:
        target = (
            _(", {n}/week per channel").format(n=unit.posts_per_week) if unit.posts_per_week else ""
        )
        channels = ", ".join(unit.channels) or _("no channel")
        print(f"{'  ' * tree.depth(unit.id)}{unit.id}  {unit.name}  ({channels}{target})")
    for quota in tree.quotas:
        who = ", ".join(quota.units) or _("every unit")
        print(
            _("campaign {name!r}: {n} posts per unit, {first} to {last} ({who})").format(
                name=quota.campaign,
                n=quota.posts_per_unit,
                first=day(quota.first_day),
                last=day(quota.last_day),
                who=who,
            )
        )
    return 0


def _span(args: argparse.Namespace, ctx: Context, today: date) -> Span:
    tz = ctx.config.directory().office.timezone
    if getattr(args, "week", None):
        if args.date_from or args.date_to:
            raise ValidationError("week_or_days", field="--week")
        year, week = parse_week(args.week)
        return week_of(date.fromisocalendar(year, week, 1), tz)
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise ValidationError("from_and_to", field="--from" if args.date_to else "--to")
        first = parse_date(args.date_from, field="--from")
        last = parse_date(args.date_to, field="--to")
        return span(first, last, tz)
    return week_of(today, tz)


def run_status(args: argparse.Namespace) -> int:
    """Print each unit's targets: met, on track or behind (rolled up under each parent)."""
    ctx = Context(args)
    _units_required(ctx)
    directory = ctx.config.directory()
    now = utcnow()
    period = _span(args, ctx, now.astimezone(directory.office.timezone).date())
    report = status(ctx.engine, directory, period, now=now)
    if args.json:
        print_json(report.as_dict())
        return 0
    print(_status_text(report))
    return 0


def _status_text(report: StatusReport) -> str:
    lines = [_period(report.span.first_day, report.span.last_day)]
    for unit in report.units:
        pad = "  " * unit.depth
        below = unit.behind_below - (unit.status == "behind")
        rolled = (
            ngettext("; {n} unit under it behind", "; {n} units under it behind", below).format(
                n=below
            )
            if below
            else ""
        )
        rolled_up = _("rolled up: {done}/{required} publications").format(
            done=unit.done, required=unit.required
        )
        lines.append(
            f"{pad}{unit.unit.id}  {unit.unit.name}: {_(_STATUS[unit.status])}"
            f"  ({rolled_up}{rolled})"
        )
        for t in unit.targets:
            if t.kind == RESPONSE:
                median = (
                    _("none answered")
                    if t.done is None
                    else _("median {minutes} min").format(minutes=t.done)
                )
                answered = _(
                    "citizens: {answered}/{received} answered, {median} (target {target} min)"
                ).format(answered=t.answered, received=t.received, median=median, target=t.required)
                lines.append(f"{pad}  {answered} {_(_STATUS[t.status])}")
                continue
            what = (
                _("campaign {name!r}").format(name=t.subject) if t.kind == CAMPAIGN else t.subject
            )
            waiting = _(", {n} scheduled").format(n=t.scheduled) if t.scheduled else ""
            by_now = _("by now {n}").format(n=t.expected)
            lines.append(
                f"{pad}  {what}: {t.done}/{t.required} ({by_now}{waiting}) {_(_STATUS[t.status])}"
            )
    behind = report.behind()
    lines.append(
        _("behind: {units}").format(units=", ".join(u.unit.id for u in behind))
        if behind
        else _("no unit is behind")
    )
    return "\n".join(lines)


def _period(first: date, last: date) -> str:
    return _("{first} to {last}").format(first=day(first), last=day(last))


def run_rank(args: argparse.Namespace) -> int:
    """Print the ranking: score, its parts and the figures behind it; the most improved
    unit; the authors' contributions."""
    ctx = Context(args)
    _units_required(ctx)
    directory = ctx.config.directory()
    period = _span(args, ctx, utcnow().date())
    pubs = publications(ctx.engine, period.start, period.end)
    result = ranking(ctx.engine, directory, period, pubs=pubs)
    if args.json:
        print_json(result.as_dict())
        return 0
    before = period.previous()
    compared = _("compared with {period}").format(period=_period(before.first_day, before.last_day))
    print(f"{_period(period.first_day, period.last_day)} ({compared})")
    if result.basis == PER_FOLLOWER:
        print(_("audience and engagement per follower (counts at the period's end)"))
    else:
        missing = ", ".join(result.without_followers) or _("every channel")
        print(
            _("audience and engagement per publication: no follower count for {channels}").format(
                channels=missing
            )
        )
    print("  ".join([*(f"{_(label):>{width}}" for label, width in _RANK_COLUMNS), _("unit")]))
    for u in result.units:
        change = "" if u.change is None else f"  ({u.change:+.1f})"
        followers = "-" if u.followers is None else str(u.followers)
        print(
            f"{u.rank:>4}  {u.score.value:5.1f}  {u.score.delivery:8.0%}  {u.score.audience:8.0%}"
            f"  {u.score.engagement:10.0%}  {u.score.response:8.0%}"
            f"  {u.figures.on_time:>7}/{u.required:<8}"
            f"  {u.figures.publications:>12}  {followers:>9}  {u.unit.id} {u.unit.name}{change}"
        )
    if result.most_improved is not None:
        best = result.most_improved
        print(
            _("most improved: {unit} {name} ({change:+.1f})").format(
                unit=best.unit.id, name=best.unit.name, change=best.change
            )
        )
    else:
        print(_("most improved: none (no score rose)"))
    print(_("authors: publications, on time, engagement, units"))
    for a in result.authors:
        print(
            f"  {a.author}: {a.figures.publications}, {a.figures.on_time}, "
            f"{a.figures.engagement:.0f}, {', '.join(a.units) or '-'}"
        )
    return 0
