"""`loa channels list`: what channels.toml configures (never the secrets' values);
`loa channels resume`: publish to a paused channel again."""

from __future__ import annotations

import argparse

from content.errors import NotFound
from content.i18n import _
from scheduler.cli.common import Context, print_json, subcommand_parent
from scheduler.config import FacebookChannel
from scheduler.dispatch import paused_channels, resume_channel


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``channels`` commands."""
    channels = subparsers.add_parser("channels", help="configured Pages and OAs")
    sub = channels.add_subparsers(title="channels commands", metavar="COMMAND", required=True)
    ls = sub.add_parser("list", parents=[subcommand_parent()], help="list channels and groups")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)
    resume = sub.add_parser(
        "resume",
        parents=[subcommand_parent()],
        help="publish to a paused channel again (after its token was renewed)",
    )
    resume.add_argument("id", metavar="ID", help="the channel id")
    resume.set_defaults(handler=run_resume)


def run_resume(args: argparse.Namespace) -> int:
    """Unpause one channel (the daemon's own resume_channel); say when it was not paused."""
    ctx = Context(args)
    if args.id not in ctx.config.channels:
        raise NotFound("channel_not_configured", id=args.id, known=list(ctx.config.channels))
    ctx.access.require_channels([args.id], "resume channels")
    reason = paused_channels(ctx.engine).get(args.id)
    if not resume_channel(ctx.engine, args.id):
        print(_("channel {id} is not paused; nothing to do").format(id=args.id))
        return 0
    print(
        _(
            "channel {id} resumed (it was paused: {reason}); its waiting posts go out at the "
            "daemon's next poll"
        ).format(id=args.id, reason=reason or _("no reason given"))
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print one line per channel, then the groups."""
    config = Context(args).config
    rows = []
    for cid, channel in config.channels.items():
        if isinstance(channel, FacebookChannel):
            account, secret = f"page {channel.page_id}", channel.token.describe()
        else:
            account, secret = f"oa {channel.oa_id}", channel.app_secret.describe()
        rows.append(
            {
                "id": cid,
                "kind": channel.kind,
                "name": channel.name,
                "account": account,
                "base_url": channel.base_url,
                "secret": secret,
                "groups": [g for g, members in config.groups.items() if cid in members],
            }
        )
    if args.json:
        print_json({"channels": rows, "groups": {g: list(m) for g, m in config.groups.items()}})
        return 0
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in ("id", "kind", "account")}
    for row in rows:
        print(
            f"{row['id']:<{widths['id']}}  {row['kind']:<{widths['kind']}}  "
            f"{row['account']:<{widths['account']}}  {row['name']}  ({row['base_url']})"
        )
    for group, members in config.groups.items():
        print(_("group {name}: {members}").format(name=group, members=", ".join(members)))
    return 0
