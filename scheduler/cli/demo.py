"""`loa demo`: queue sample posts and publish them to the sandbox, start to finish."""

from __future__ import annotations

import argparse
from pathlib import Path

from content.errors import LoaError
from content.formatting import number
from content.i18n import _, ngettext
from scheduler.cli.common import Context, subcommand_parent


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``demo``."""
    demo = subparsers.add_parser(
        "demo",
        parents=[subcommand_parent()],
        help="publish sample posts to the local sandbox in about a minute",
    )
    demo.add_argument("--seed", type=int, default=20261123, help="sandbox seed")
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print a summary table."""
    from scheduler.demo import DEMO_FILE_NAME, refuse_unless_demo, run_demo

    db_arg = getattr(args, "db", None) or DEMO_FILE_NAME
    if "://" in db_arg:
        raise LoaError("demo_db_url", field="--db")
    db_path = Path(db_arg)
    refuse_unless_demo(db_path)
    config = Context(args).config
    print(
        _("Loa demo: {office}, database {db} (recreated)").format(
            office=config.office.name, db=db_path
        )
    )
    result = run_demo(config, db_path, seed=args.seed, say=lambda m: print(m, flush=True))
    channel, published = _("channel"), _("published")
    width = max(16, len(channel) + 1)
    print()
    print(f"{channel:<{width}} {published:>9}")
    for name in config.channels:
        print(f"{name:<{width}} {result.published.get(name, 0):>9}")
    late = result.lateness
    print()
    print(
        _("lateness after the due time: p50 {p50} s, p99 {p99} s, max {max} s").format(
            p50=number(late["p50"], decimals=2),
            p99=number(late["p99"], decimals=2),
            max=number(late["max"], decimals=2),
        )
    )
    print(
        _("metrics collected: {samples} samples; feed drafts: {drafts}").format(
            samples=result.samples, drafts=result.drafts_from_feed
        )
    )
    print(_("finished in {seconds} s").format(seconds=round(result.seconds)))
    if result.unsettled:
        print(
            ngettext(
                "{n} delivery did not finish in time: see `loa status --db {db}`",
                "{n} deliveries did not finish in time: see `loa status --db {db}`",
                result.unsettled,
            ).format(n=result.unsettled, db=db_path)
        )
    print()
    print(_("next: loa tui --db {db}   (or: loa post list --db {db})").format(db=db_path))
    return 0 if result.unsettled == 0 else 1
