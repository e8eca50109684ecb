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
from content.times import parse_date, utcnow
from scheduler.cli.common import Context, print_json, subcommand_parent
from scheduler.report_data import parse_week

#: How a status is written in the text output.
_STATUS = {"met": "met", "on_track": "on track", "behind": "BEHIND", "no_target": "no target"}


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
        target = f", {unit.posts_per_week}/week per channel" if unit.posts_per_week else ""
        channels = ", ".join(unit.channels) or "no channel"
        print(f"{'  ' * tree.depth(unit.id)}{unit.id}  {unit.name}  ({channels}{target})")
    for quota in tree.quotas:
        who = ", ".join(quota.units) or "every unit"
        print(
            f"campaign {quota.campaign!r}: {quota.posts_per_unit} posts per unit, "
            f"{quota.first_day} to {quota.last_day} ({who})"
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
    lines = [f"{report.span.first_day} to {report.span.last_day}"]
    for unit in report.units:
        pad = "  " * unit.depth
        below = unit.behind_below - (unit.status == "behind")
        rolled = f"; {below} unit(s) under it behind" if below else ""
        lines.append(
            f"{pad}{unit.unit.id}  {unit.unit.name}: {_STATUS[unit.status]}"
            f"  (rolled up: {unit.done}/{unit.required} publications{rolled})"
        )
        for t in unit.targets:
            if t.kind == RESPONSE:
                median = "none answered" if t.done is None else f"median {t.done} min"
                lines.append(
                    f"{pad}  citizens: {t.answered}/{t.received} answered, {median} "
                    f"(target {t.required} min) {_STATUS[t.status]}"
                )
                continue
            what = f"campaign {t.subject!r}" if t.kind == CAMPAIGN else t.subject
            waiting = f", {t.scheduled} scheduled" if t.scheduled else ""
            lines.append(
                f"{pad}  {what}: {t.done}/{t.required} (by now {t.expected}{waiting}) "
                f"{_STATUS[t.status]}"
            )
    behind = report.behind()
    lines.append(
        f"behind: {', '.join(u.unit.id for u in behind)}" if behind else "no unit is behind"
    )
    return "\n".join(lines)


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
    print(
        f"{period.first_day} to {period.last_day} (compared with {before.first_day} to "
        f"{before.last_day})"
    )
    if result.basis == PER_FOLLOWER:
        print("audience and engagement per follower (counts at the period's end)")
    else:
        missing = ", ".join(result.without_followers) or "every channel"
        print(f"audience and engagement per publication: no follower count for {missing}")
    print(
        "rank  score  delivery  audience  engagement  response  on time/required  publications"
        "  followers  unit"
    )
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
        print(f"most improved: {best.unit.id} {best.unit.name} ({best.change:+.1f})")
    else:
        print("most improved: none (no score rose)")
    print("authors: publications, on time, engagement, units")
    for a in result.authors:
        print(
            f"  {a.author}: {a.figures.publications}, {a.figures.on_time}, "
            f"{a.figures.engagement:.0f}, {', '.join(a.units) or '-'}"
        )
    return 0
