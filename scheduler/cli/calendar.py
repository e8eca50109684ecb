"""`loa calendar list|prepare`: the movement's fixed dates and each unit's campaign draft;
thin faces over :mod:`content.calendar_campaigns`."""

from __future__ import annotations

import argparse
import shlex
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

from content import calendar_campaigns as cal
from content.i18n import _, ngettext
from content.messages import POST_STATE_WORDS, render, say
from content.times import utcnow
from scheduler.cli.common import Context, for_terminal, print_json, subcommand_parent

#: The terminal's width the lists are wrapped to (an officer's terminal is 80 columns).
_WIDTH = 80
#: The states ``list`` counts, in the order a draft goes through them.
_STATES = ("draft", "in_review", "approved", "scheduled", "done", "cancelled")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``calendar`` commands."""
    calendar = subparsers.add_parser(
        "calendar",
        help="the movement's fixed dates: a campaign draft for every unit",
        description=(
            'Fixed dates of the movement ([calendar."NAME"] in channels.toml; August 19 is '
            "built in). Each unit gets one draft on its own channels, named after it, to edit "
            "and submit like any post."
        ),
    )
    sub = calendar.add_subparsers(title="calendar commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    ls = sub.add_parser(
        "list",
        parents=[parent],
        help="what is coming and how many units have their drafts",
        description="Default: each entry's next date; --year: that year's dates.",
    )
    _options(ls)
    ls.add_argument("--units", action="store_true", help="one line per unit and its draft")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)

    pr = sub.add_parser(
        "prepare",
        parents=[parent],
        help="make the missing drafts now (the daemon does it lead_days ahead)",
        description=(
            "Default: each entry's next date. A unit that has its draft (edited, approved or "
            "cancelled) gets no other; running it twice makes nothing new."
        ),
    )
    _options(pr)
    pr.add_argument("--dry-run", action="store_true", help="check every draft, write nothing")
    pr.add_argument("--json", action="store_true", help="machine-readable output")
    pr.set_defaults(handler=run_prepare)


def _options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--year", type=int, metavar="YYYY", help="the dates of this year")
    cmd.add_argument("--entry", metavar="NAME", help="only this entry (its name in quotes)")


def _chosen(args: argparse.Namespace, ctx: Context, now: datetime) -> list[cal.Occurrence]:
    tz = ctx.config.directory().office.timezone
    if args.year is not None:
        return cal.occurrences(ctx.config.calendar, args.year, tz, entry=args.entry)
    return cal.upcoming(ctx.config.calendar, now, tz, entry=args.entry)


def _heading(one: cal.Occurrence, tz: ZoneInfo) -> str:
    when = one.at.astimezone(tz).strftime("%d/%m/%Y %H:%M")
    return f"{when}  {for_terminal(one.entry.name)}"


def run_list(args: argparse.Namespace) -> int:
    """Print each entry: its date, campaign, when its drafts are made, and how far the
    units got (drafts by state, the units without one)."""
    ctx = Context(args)
    directory = ctx.config.directory()
    tz = directory.office.timezone
    now = utcnow()
    found = cal.status(ctx.engine, directory, _chosen(args, ctx, now))
    if args.json:
        print_json({"entries": [one.as_dict(tz) for one in found]})
        return 0
    if not found:
        print(_('No calendar entry: add a [calendar."NAME"] table to channels.toml.'))
        return 0
    for index, one in enumerate(found):
        if index:
            print()
        print(_list_text(one, tz, units=args.units, now=now))
    return 0


def _list_text(one: cal.OccurrenceStatus, tz: ZoneInfo, *, units: bool, now: datetime) -> str:
    o = one.occurrence
    # A year's view (--year) may hold dates already gone: said, so nobody waits for them.
    lines = [_heading(o, tz) + (f"  {_('(past)')}" if o.at <= now else "")]
    # Two short lines rather than one: a long campaign name stays within 80 columns.
    lines.append(
        "  " + _("campaign: {campaign}").format(campaign=for_terminal(o.entry.campaign_name))
    )
    lines.append(
        "  "
        + _("drafts made from {day} ({n} days before)").format(
            day=o.prepare_from.strftime("%d/%m/%Y"), n=o.entry.lead_days
        )
    )
    counts = one.counts()
    having = sum(1 for u in one.units if u.draft is not None)
    states = ", ".join(f"{_(POST_STATE_WORDS[s])}: {counts[s]}" for s in _STATES if counts.get(s))
    summary = ngettext(
        "{n} of {total} unit has its draft", "{n} of {total} units have their draft", len(one.units)
    ).format(n=having, total=len(one.units))
    lines.append(f"  {summary}" + (f" ({states})" if states else ""))
    missing = [u.unit.id for u in one.units if u.draft is None and u.unit.channels]
    if missing and not units:
        said = _("no draft yet: {units}").format(units=", ".join(missing))
        # A province of a hundred communes: the list wraps under itself, not at column 0.
        lines.append(textwrap.fill(said, _WIDTH, initial_indent="  ", subsequent_indent="    "))
    if units:
        width = max(len(u.unit.id) for u in one.units)
        for u in one.units:
            if u.draft is None:
                what = _("no channel") if not u.unit.channels else _("no draft yet")
            else:
                what = f"#{u.draft.post_id} {_(POST_STATE_WORDS[u.draft.state])}"
                if u.draft.edited:
                    what += " " + _("(edited)")
            lines.append(f"    {u.unit.id:<{width}}  {for_terminal(u.unit.name)}: {what}")
    return "\n".join(lines)


def run_prepare(args: argparse.Namespace) -> int:
    """Make the missing drafts and say, per entry, what was made and what could not be."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    results = cal.prepare(ctx.queue, _chosen(args, ctx, utcnow()), dry_run=args.dry_run)
    if args.json:
        print_json({"entries": [_prepared_json(r, tz) for r in results]})
        return 1 if any(r.errors for r in results) else 0
    if not results:
        print(_('No calendar entry: add a [calendar."NAME"] table to channels.toml.'))
        return 0
    failed = False
    for index, result in enumerate(results):
        if index:
            print()
        print(_heading(result.occurrence, tz))
        if result.past:
            print("  " + _("its time has passed: nothing was made (see --year)"))
            continue
        for line in _prepare_lines(result, dry_run=args.dry_run):
            print(f"  {line}")
        for warning in result.warnings:
            print(f"  {_('warning')}: {say(warning)}")
        failed = failed or bool(result.errors)
    return 1 if failed else 0


def _prepared_json(result: cal.Prepared, tz: ZoneInfo) -> dict[str, object]:
    o = result.occurrence
    return {
        "name": o.entry.name,
        "date": o.day.isoformat(),
        "at": o.at.astimezone(tz).isoformat(timespec="seconds"),
        "past": result.past,
        "units": [
            {
                "unit": unit,
                "outcome": outcome,
                "post": result.posts.get(unit),
                "error": render(result.errors[unit], field=False)
                if unit in result.errors
                else None,
            }
            for unit, outcome in result.outcomes.items()
        ],
    }


def _prepare_lines(result: cal.Prepared, *, dry_run: bool) -> list[str]:
    lines = []
    made = [result.posts[u] for u, o in result.outcomes.items() if o == cal.CREATED]
    if dry_run:
        n = result.count(cal.WOULD_CREATE)
        lines.append(ngettext("{n} draft would be made", "{n} drafts would be made", n).format(n=n))
    else:
        posts = ", ".join(f"#{p}" for p in made)
        lines.append(
            ngettext("{n} draft made", "{n} drafts made", len(made)).format(n=len(made))
            + (f" ({posts})" if posts else "")
        )
    n = result.count(cal.EXISTS)
    if n:
        lines.append(
            ngettext(
                "{n} unit already has its draft", "{n} units already have their draft", n
            ).format(n=n)
        )
    n = result.count(cal.NO_CHANNEL)
    if n:
        lines.append(
            ngettext("{n} unit has no channel", "{n} units have no channel", n).format(n=n)
        )
    n = result.count(cal.OUTSIDE)
    if n:
        lines.append(
            ngettext(
                "{n} unit is outside your units: its officers prepare it",
                "{n} units are outside your units: their officers prepare them",
                n,
            ).format(n=n)
        )
    for unit, error in result.errors.items():
        lines.append(
            _("{unit}: no draft: {reason}").format(unit=unit, reason=render(error, field=False))
        )
    if made and not dry_run:
        lines.append(_("each unit edits its own draft; to see them:"))
        lines.append(
            f"  loa post list --campaign {shlex.quote(result.occurrence.entry.campaign_name)}"
        )
    return lines
