"""`loa webhooks serve`: receive citizens' messages and comments from Zalo and Meta.

The receiver (:mod:`scheduler.webhooks`) listens on 127.0.0.1 by default: the office's
reverse proxy terminates HTTPS (both platforms require it with a valid certificate) and
forwards only ``/webhooks/zalo`` and ``/webhooks/facebook`` (see the README).
"""

from __future__ import annotations

import argparse

from content.errors import LoaError
from scheduler.cli.common import Context, subcommand_parent, unattended
from scheduler.cli.daemon import configure_logging

DEFAULT_PORT = 8780


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``webhooks serve``."""
    webhooks = subparsers.add_parser(
        "webhooks", parents=[subcommand_parent()], help="receive citizens' messages (webhooks)"
    )
    sub = webhooks.add_subparsers(title="webhooks commands", metavar="ACTION", required=True)
    serve = sub.add_parser(
        "serve",
        parents=[subcommand_parent()],
        help="serve /webhooks/zalo and /webhooks/facebook (behind the office's reverse proxy)",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: the reverse proxy forwards to it)",
    )
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--no-process",
        action="store_true",
        help="only store events; leave turning them into threads to `loa daemon`",
    )
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    serve.set_defaults(handler=run_serve)
    # Run by the system as the service user, like the daemon: it acts for no person.
    unattended(serve)


def run_serve(args: argparse.Namespace) -> int:
    """Check the configured secrets, then serve until interrupted."""
    from content.messages import os_reason
    from content.sealed import Sealer
    from scheduler.inbox_jobs import inbox_key
    from scheduler.webhooks import ChildWorker, Keys, Receiver, listen, make_server

    configure_logging(args.log_level)
    ctx = Context(args)
    engine = ctx.engine
    keys = Keys.from_config(ctx.config)  # a missing secret stops here, in one line
    key = inbox_key(engine, ctx.config)
    receiver = Receiver(
        ctx.config,
        engine,
        Sealer(key),
        keys=keys,
        process=not args.no_process,
        # Events become threads in a process of their own, at a lower priority.
        child=ChildWorker(
            engine.url.render_as_string(hide_password=False), ctx.config.path.resolve(), key
        ),
    )
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        raise LoaError(
            "cannot_listen", host=args.host, port=args.port, reason=os_reason(exc)
        ) from None
    try:
        make_server(receiver, log_level=args.log_level).run(sockets=[sock])
    finally:
        sock.close()
    return 0
