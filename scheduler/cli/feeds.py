"""`loa feeds ...`: add, list, import and poll RSS/Atom feeds (drafts for review)."""

from __future__ import annotations

import argparse
import sys

from content.feeds import (
    PollResult,
    add_feed,
    feed_json,
    import_source,
    item_counts,
    list_feeds,
    poll,
)
from content.i18n import _
from content.times import office_text
from scheduler.cli.common import Context, print_json, subcommand_parent, warn


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``feeds`` commands."""
    feeds = subparsers.add_parser("feeds", help="import RSS/Atom feeds as drafts")
    sub = feeds.add_subparsers(title="feeds commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    add = sub.add_parser("add", parents=[parent], help="add a feed (URL or file) to poll")
    add.add_argument("url", metavar="URL", help="http(s) URL or path of a feed file")
    _feed_options(add)
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(handler=run_add)

    ls = sub.add_parser("list", parents=[parent], help="list the feeds and their items")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)

    imp = sub.add_parser(
        "import",
        parents=[parent],
        help="poll one feed now (adding it first if SOURCE is a new URL or file)",
    )
    imp.add_argument("source", metavar="SOURCE", help="feed id, URL or file path")
    imp.add_argument(
        "--mark-seen",
        action="store_true",
        help="take the feed's current items as already seen: no drafts (avoids a flood)",
    )
    _feed_options(imp, note=" (when SOURCE is added now)")
    imp.add_argument("--json", action="store_true", help="machine-readable output")
    imp.set_defaults(handler=run_import)

    pl = sub.add_parser("poll", parents=[parent], help="poll every active feed once")
    pl.add_argument("--json", action="store_true", help="machine-readable output")
    pl.set_defaults(handler=run_poll)


def _feed_options(parser: argparse.ArgumentParser, note: str = "") -> None:
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ID",
        help=f"channel id or group for the drafts (repeat for more){note}",
    )
    parser.add_argument("--template", metavar="T", help=f"infographic template for drafts{note}")
    parser.add_argument(
        "--no-drafts",
        dest="make_drafts",
        action="store_false",
        help=f"only record the items, make no drafts{note}",
    )
    parser.add_argument(
        "--max-per-poll",
        type=int,
        default=5,
        metavar="N",
        help=f"at most N new drafts per poll; the rest wait (default 5){note}",
    )


def run_add(args: argparse.Namespace) -> int:
    """Validate and add a feed."""
    ctx = Context(args)
    directory = ctx.config.directory()
    source = add_feed(
        ctx.engine,
        args.url,
        args.channel,
        directory=directory,
        template=args.template,
        make_drafts=args.make_drafts,
        max_new_per_poll=args.max_per_poll,
        now=ctx.queue.clock(),
    )
    if args.json:
        print_json(feed_json(source, None, directory.office.timezone))
    else:
        print(_("feed {id} added: {url}").format(id=source.id, url=source.url))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List the feeds with their item counts."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    feeds = list_feeds(ctx.engine)
    counts = item_counts(ctx.engine)
    if args.json:
        print_json([feed_json(f, counts.get(f.id or 0), tz) for f in feeds])
        return 0
    if not feeds:
        print(_("no feeds"))
        return 0
    for f in feeds:
        c = counts.get(f.id or 0, {})
        status = _("active") if f.active else _("paused")
        drafts = (
            _("drafts to {channels}").format(channels=",".join(f.channels))
            if f.make_drafts
            else _("no drafts")
        )
        polled = _("polled {time:<16}").format(time=office_text(f.last_polled_at, tz))
        items = _("new {new} drafted {drafted} seen {seen} skipped {skipped}").format(
            new=c.get("new", 0),
            drafted=c.get("drafted", 0),
            seen=c.get("seen", 0),
            skipped=c.get("skipped", 0),
        )
        print(f"{f.id:>4}  {status:<6}  {polled}  {items}  {drafts}  {f.title or ''} <{f.url}>")
        if f.last_error:
            print("      " + _("last error: {error}").format(error=f.last_error))
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Poll one feed now; exit 1 if it could not be fetched or was malformed."""
    ctx = Context(args)
    result = import_source(
        ctx.engine,
        ctx.queue,
        args.source,
        channels=args.channel,
        template=args.template,
        make_drafts=args.make_drafts,
        max_new_per_poll=args.max_per_poll,
        mark_seen=args.mark_seen,
    )
    return _report([result], args.json)


def run_poll(args: argparse.Namespace) -> int:
    """Poll every active feed (what the daemon's feed job does); exit 1 if any failed."""
    ctx = Context(args)
    results = poll(ctx.engine, ctx.queue)
    if not results and not args.json:
        print(_("no active feeds"))
    return _report(results, args.json)


def _report(results: list[PollResult], as_json: bool) -> int:
    if as_json:
        print_json([r.to_json() for r in results])
    else:
        for r in results:
            _print_result(r)
    return 1 if any(r.error for r in results) else 0


def _print_result(r: PollResult) -> None:
    name = _("feed {id}").format(id=r.source.id)
    if r.not_modified:
        print(_("{feed}: not modified since the last poll").format(feed=name))
    line = _("{feed}: {new} new, {duplicate} duplicate, {skipped} skipped, {drafted} drafted")
    line = line.format(
        feed=name, new=r.new, duplicate=r.duplicate, skipped=len(r.skipped), drafted=r.drafted
    )
    if r.seen:
        line += _(", {n} marked seen").format(n=r.seen)
    if r.pending:
        line += _(", {n} waiting for later polls").format(n=r.pending)
    print(line)
    for title, reason in r.skipped:
        print("  " + _("skipped: {title}: {reason}").format(title=title, reason=reason))
    if r.post_ids:
        posts = ", ".join(_("post {id}").format(id=i) for i in r.post_ids)
        print("  " + _("drafts: {posts} (review them)").format(posts=posts))
    for message in r.warnings:
        warn(message)
    if r.error:
        print(f"loa: {name}: {_('error')}: {r.error}", file=sys.stderr)
