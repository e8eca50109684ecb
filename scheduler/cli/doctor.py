"""`loa doctor`: check configuration, database, channels, mail, clock and media."""

from __future__ import annotations

import argparse
import asyncio

from content.db import make_engine, resolve_url
from scheduler.cli.common import subcommand_parent


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``doctor``."""
    doctor = subparsers.add_parser(
        "doctor", parents=[subcommand_parent()], help="check everything Loa depends on"
    )
    doctor.add_argument("--skip-channels", action="store_true", help="do not call the platforms")
    doctor.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per check; exit 1 when any failed."""
    from scheduler import doctor, doctor_inbox

    checks = []
    config_check, config = doctor.check_config(args.config)
    checks.append(config_check)
    engine = make_engine(resolve_url(args.db))
    checks.append(doctor.check_database(engine))
    if config is not None:
        checks.append(doctor.check_clock(engine, config))
        checks.append(doctor.check_accounts(engine, config))
        checks.append(doctor.check_media(config))
        checks.append(doctor.check_smtp(config))
        checks.extend(doctor_inbox.check_inbox(config))
        if not args.skip_channels and checks[1].ok:
            from scheduler.channels import build_channel

            async def channels() -> list[doctor.Check]:
                clients = {c: build_channel(c, config, engine=engine) for c in config.channels}
                try:
                    found = await doctor.check_channels(clients)
                    return found + await doctor_inbox.check_subscriptions(config, clients)
                finally:
                    for client in clients.values():
                        await client.aclose()

            checks.extend(asyncio.run(channels()))
    for check in checks:
        print(check.line())
    return 0 if all(c.ok for c in checks) else 1
