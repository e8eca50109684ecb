"""`loa report ...`: the weekly summary (preview or send) and reports for any period."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from pathlib import Path

from content.evaluation import span
from content.files import write_private
from content.i18n import _, ngettext
from content.times import parse_date, utcnow
from scheduler.cli.common import Context, subcommand_parent, warn
from scheduler.report import build_weekly, send_weekly, write_preview
from scheduler.report_data import days_period, parse_week, period_figures, week_just_ended
from scheduler.report_period import FORMATS as PERIOD_FORMATS
from scheduler.report_period import build as build_period
from scheduler.report_period import default_path
from scheduler.report_period import write as write_period
from scheduler.report_range import FORMATS, range_csv, range_html, range_xlsx


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``report`` commands."""
    report = subparsers.add_parser("report", help="weekly summary and period reports")
    sub = report.add_subparsers(title="report commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    weekly = sub.add_parser(
        "weekly",
        parents=[parent],
        help="the weekly summary: print it, write a preview, or mail it",
        description=(
            "Without --out or --send, print the summary as text. The week defaults to the "
            "ISO week that ended last Monday 00:00 (office time)."
        ),
    )
    weekly.add_argument("--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W48")
    weekly.add_argument(
        "--out", type=Path, metavar="DIR", help="write the .eml, .html, .csv and chart .png here"
    )
    weekly.add_argument("--send", action="store_true", help="mail it to [email] to and cc")
    weekly.add_argument(
        "--force",
        action="store_true",
        help="with --send: send even if this week was already sent (or has not ended)",
    )
    weekly.set_defaults(handler=run_weekly)

    ranged = sub.add_parser(
        "range",
        parents=[parent],
        help="publications and engagement per unit and campaign for a period",
    )
    ranged.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
    ranged.add_argument(
        "--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="inclusive"
    )
    ranged.add_argument("--format", choices=FORMATS, default="xlsx")
    ranged.add_argument(
        "--out", type=Path, metavar="PATH", help="output file (csv/html default: standard output)"
    )
    ranged.set_defaults(handler=run_range)

    period = sub.add_parser(
        "period",
        parents=[parent],
        help="the periodic report to file (Decree 30 layout): Word, Excel or PDF",
        description=(
            "Results, figures and charts per unit, the ranking, shortcomings and proposals "
            "(placeholders to edit) and the signature block. PDF needs LibreOffice (soffice)."
        ),
    )
    period.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD")
    period.add_argument(
        "--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="inclusive"
    )
    period.add_argument("--format", choices=PERIOD_FORMATS, default="docx")
    period.add_argument(
        "--out", type=Path, metavar="PATH", help="default: ./bao-cao-FROM_TO.FORMAT"
    )
    period.set_defaults(handler=run_period)


def run_weekly(args: argparse.Namespace) -> int:
    """Print, preview or send one week's summary."""
    ctx = Context(args)
    config = ctx.config
    now = utcnow()
    if args.week:
        year, number = parse_week(args.week)
        week = f"{year}-W{number:02d}"
    else:
        week = week_just_ended(now, config.directory().office.timezone)
    if args.force and not args.send:
        warn(_("--force does nothing without --send"))
    if args.out:
        mail = build_weekly(ctx.engine, config, week)
        for path in write_preview(mail, args.out):
            print(path)
    if args.send:
        worker = f"cli:{getpass.getuser()}@{socket.gethostname()}"
        sent = send_weekly(ctx.engine, config, week, now, worker=worker, force=args.force)
        if sent:
            email = config.email
            assert email is not None
            to = ", ".join([*email.to, *email.cc])
            print(_("week {week}: sent to {to}").format(week=week, to=to))
        else:
            print(
                _("week {week}: already sent (or being sent); --force sends it again").format(
                    week=week
                )
            )
    if not args.out and not args.send:
        sys.stdout.write(build_weekly(ctx.engine, config, week).text)
    return 0


def run_range(args: argparse.Namespace) -> int:
    """Write a period report as CSV, XLSX or HTML."""
    ctx = Context(args)
    directory = ctx.config.directory()
    first = parse_date(args.date_from, field="--from")
    last = parse_date(args.date_to, field="--to")
    period = days_period(first, last, directory.office.timezone)
    figures = period_figures(ctx.engine, directory, period)
    language, office = directory.office.language, directory.office.name
    if args.format == "xlsx":
        out = args.out or Path(f"loa-{first.isoformat()}_{last.isoformat()}.xlsx")
        range_xlsx(figures, office, language, out)
        print(_publications(len(figures.rows), out), file=sys.stderr)
        return 0
    text = (
        range_csv(figures, language)
        if args.format == "csv"
        else range_html(
            figures, office, language, ctx.config.reporting.templates_folder(ctx.config.path)
        )
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_private(args.out, text)
        print(_publications(len(figures.rows), args.out), file=sys.stderr)
    else:
        # No byte-order mark on a terminal or pipe; files keep it for Excel.
        sys.stdout.write(text.lstrip("\ufeff"))
    return 0


def _publications(n: int, file: Path) -> str:
    return ngettext("{n} publication: {file}", "{n} publications: {file}", n).format(n=n, file=file)


def run_period(args: argparse.Namespace) -> int:
    """Write the periodic report of a span of days."""
    ctx = Context(args)
    directory = ctx.config.directory()
    first = parse_date(args.date_from, field="--from")
    last = parse_date(args.date_to, field="--to")
    period = span(first, last, directory.office.timezone)
    report = build_period(ctx.engine, ctx.config, period, now=utcnow())
    out = write_period(report, args.format, args.out or default_path(period, args.format))
    print(out)
    return 0
