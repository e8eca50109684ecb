"""`loa users`: the office's accounts (who may write, approve and administer; for which units).

A thin layer over :class:`content.accounts.Accounts`: identity and every rule live there.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from content.accounts import Accounts, AccountView, parse_role
from content.errors import ValidationError
from content.i18n import _
from scheduler.cli.common import Context, print_json, subcommand_parent


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``users`` and its subcommands."""
    users = subparsers.add_parser(
        "users", parents=[subcommand_parent()], help="accounts, roles and units (admins)"
    )
    sub = users.add_subparsers(title="users commands", metavar="ACTION", required=True)

    add = sub.add_parser(
        "add", parents=[subcommand_parent()], help="add an account (the first must be an admin)"
    )
    add.add_argument("name", help="the person's OS login name (also his web sign-in name)")
    add.add_argument("--role", required=True, help="author, approver or admin")
    add.add_argument(
        "--unit",
        action="append",
        default=[],
        metavar="GROUP",
        help="a channel group (or channel) of channels.toml he works for; repeat; none: all",
    )
    add.set_defaults(handler=run_add)

    listing = sub.add_parser("list", parents=[subcommand_parent()], help="list the accounts")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=run_list)

    role = sub.add_parser("set-role", parents=[subcommand_parent()], help="change a role")
    role.add_argument("name")
    role.add_argument("role", help="author, approver or admin")
    role.set_defaults(handler=run_set_role)

    units = sub.add_parser(
        "set-units", parents=[subcommand_parent()], help="replace an account's units"
    )
    units.add_argument("name")
    units.add_argument("units", nargs="*", metavar="GROUP", help="none: every channel")
    units.set_defaults(handler=run_set_units)

    for action, helptext in (
        ("disable", "stop an account (its web sessions end; its history stays)"),
        ("enable", "let a disabled account in again"),
    ):
        cmd = sub.add_parser(action, parents=[subcommand_parent()], help=helptext)
        cmd.add_argument("name")
        cmd.set_defaults(handler=run_switch, action=action)

    passwd = sub.add_parser(
        "passwd",
        parents=[subcommand_parent()],
        help="set the password for `loa web` (admins for anyone, a person for himself)",
    )
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (for scripts)",
    )
    passwd.set_defaults(handler=run_passwd)


def _accounts(ctx: Context) -> Accounts:
    return Accounts(ctx.engine, ctx.config.directory(), by=ctx.access)


def _line(name: str, role: str, units: tuple[str, ...], active: bool, password: bool) -> str:
    flags = [] if active else [_("disabled")]
    if password:
        flags.append(_("web"))
    return f"{name:<20} {role:<9} {', '.join(units) or _('(all channels)')}" + (
        f"  [{', '.join(flags)}]" if flags else ""
    )


def _updated(view: AccountView) -> None:
    line = _line(view.name, view.role, view.units, view.active, view.has_password)
    print(_("updated {account}").format(account=line))


def run_add(args: argparse.Namespace) -> int:
    """Add one account."""
    ctx = Context(args)
    view = _accounts(ctx).add(args.name, parse_role(args.role), args.unit)
    line = _line(view.name, view.role, view.units, view.active, view.has_password)
    print(_("added {account}").format(account=line))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Every account, or a hint when there is none yet."""
    ctx = Context(args)
    views = _accounts(ctx).all()
    if args.json:
        print_json([v.as_dict() for v in views])
        return 0
    if not views:
        print(
            _(
                "no accounts: anyone on this machine acts as himself and the four-eyes rule is "
                "not enforced; add the first admin with: {command}"
            ).format(command="loa users add NAME --role admin")
        )
        return 0
    for v in views:
        print(_line(v.name, v.role, v.units, v.active, v.has_password))
    return 0


def run_set_role(args: argparse.Namespace) -> int:
    """Change an account's role."""
    _updated(_accounts(Context(args)).set_role(args.name, parse_role(args.role)))
    return 0


def run_set_units(args: argparse.Namespace) -> int:
    """Replace an account's units."""
    _updated(_accounts(Context(args)).set_units(args.name, args.units))
    return 0


def run_switch(args: argparse.Namespace) -> int:
    """Disable or enable an account."""
    accounts = _accounts(Context(args))
    _updated(
        accounts.disable(args.name) if args.action == "disable" else accounts.enable(args.name)
    )
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    """Ask for the new password twice (not echoed), or read it from stdin."""
    ctx = Context(args)
    accounts = _accounts(ctx)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(_("new web password for {name}: ").format(name=args.name))
        if getpass.getpass(_("again: ")) != password:
            raise ValidationError("passwords_differ", field="password")
    view = accounts.set_password(args.name, password)
    print(_("password set for {name}; his web sessions were ended").format(name=view.name))
    return 0
