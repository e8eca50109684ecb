"""`loa demo`: queue sample posts and publish them to the sandbox, start to finish."""

from __future__ import annotations

import argparse
from pathlib import Path

from content.errors import LoaError
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
    print(f"Loa demo: {config.office.name}, database {db_path} (recreated)")
    result = run_demo(config, db_path, seed=args.seed, say=lambda m: print(m, flush=True))
    print()
    print(f"{'channel':<16} {'published':>9}")
    for channel in config.channels:
        print(f"{channel:<16} {result.published.get(channel, 0):>9}")
    late = result.lateness
    print(
        f"\nlateness after the due time: p50 {late['p50']:.2f}s, p99 {late['p99']:.2f}s, "
        f"max {late['max']:.2f}s"
    )
    print(f"metrics collected: {result.samples} samples; feed drafts: {result.drafts_from_feed}")
    print(f"finished in {result.seconds:.0f}s")
    if result.unsettled:
        print(
            f"{result.unsettled} deliveries did not finish in time: see `loa status --db {db_path}`"
        )
    print(f"\nnext: loa tui --db {db_path}   (or: loa post list --db {db_path})")
    return 0 if result.unsettled == 0 else 1
