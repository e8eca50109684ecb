"""`loa audit verify` and `loa audit list`: check and read the audit log (content.audit)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from content import audit
from content.errors import ValidationError
from content.i18n import _
from content.models import AuditEvent, Role
from content.times import local_iso, local_start_of_day, office_text, parse_date, parse_when
from scheduler.cli.common import Context, print_json, subcommand_parent

#: Rows `loa audit list` shows without --limit (the newest).
DEFAULT_LIMIT = 100

_VERIFY_HELP = """\
Recompute the audit log's hash chain, oldest row first. Exit 0 when every row is intact
(prints the number of rows and the head, SEQ:HASH); exit 1 naming the first row that was
changed or is missing (by seq and id, with its time and action).

What it proves: no row up to the head was changed, deleted or put in between since it was
written, even by someone who dropped the database's append-only triggers. What it cannot
prove on its own: that the newest rows were not deleted (the rest is still a valid chain),
nor that the whole tail was not rewritten with new hashes. Against both, note the head it
prints (on paper, in a ticket, in a mail to the inspector) and later run
`loa audit verify --expect-head SEQ:HASH`: the noted row must still be there, unchanged.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``audit`` commands."""
    group = subparsers.add_parser("audit", help="check and read the audit log")
    sub = group.add_subparsers(title="audit commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    check = sub.add_parser(
        "verify",
        parents=[parent],
        help="check that no audit row was changed or deleted",
        description=_VERIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head noted earlier: it must still be in the log, unchanged "
        "(the hash may be shortened to its first 16 hex digits)",
    )
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=run_verify)

    listing = sub.add_parser(
        "list",
        parents=[parent],
        help="show audit rows (approvers and admins)",
        description="Audit rows oldest first; without filters the newest "
        f"{DEFAULT_LIMIT}. Dates and times are office time.",
    )
    listing.add_argument("--post", type=int, metavar="ID", help="rows about this post")
    listing.add_argument(
        "--user", metavar="U", help="rows by this person (as himself or acting for another)"
    )
    listing.add_argument(
        "--from", dest="date_from", metavar="YYYY-MM-DD[ HH:MM]", help="from this day (or time)"
    )
    listing.add_argument(
        "--to",
        dest="date_to",
        metavar="YYYY-MM-DD[ HH:MM]",
        help="to this day (inclusive) or time (exclusive)",
    )
    listing.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"the newest N matching rows (default {DEFAULT_LIMIT}; 0 for all)",
    )
    listing.add_argument("--json", action="store_true", help="print the rows as JSON")
    listing.set_defaults(handler=run_list)


def run_verify(args: argparse.Namespace) -> int:
    """Check the chain; 0 intact, 1 broken (the first bad row named)."""
    expect = audit.parse_head(args.expect_head) if args.expect_head else None
    ctx = Context(args)
    ctx.access  # noqa: B018  (any account may verify, but it must be one, once accounts exist)
    verdict = audit.verify(ctx.engine, expect, tz=ctx.config.directory().office.timezone)
    if args.json:
        print_json(verdict.as_dict())
    elif verdict.intact:
        head = f"{verdict.head.seq}:{verdict.head.hash}" if verdict.head else _("none (empty log)")
        intact = (
            _("audit log intact and matches the noted head: {n} rows; head {head}")
            if expect
            else _("audit log intact: {n} rows; head {head}")
        )
        print(intact.format(n=verdict.rows, head=head))
    else:
        print(_("audit log BROKEN: {problem}").format(problem=verdict.problem))
    return 0 if verdict.intact else 1


def run_list(args: argparse.Namespace) -> int:
    """Print the rows the filters select, oldest first."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    since = _bound(args.date_from, tz, "--from", end=False)
    until = _bound(args.date_to, tz, "--to", end=True)
    if since and until and until <= since:
        raise ValidationError("to_before_from", field="--to")
    if args.limit < 0:
        raise ValidationError("limit_negative", field="--limit")
    ctx.access.require(Role.APPROVER, "read the audit log")
    rows = audit.find_events(
        ctx.engine,
        audit.AuditFilter(
            post_id=args.post,
            user=args.user,
            since=since,
            until=until,
            limit=args.limit or None,
        ),
    )
    if args.json:
        print_json([_as_json(r, tz) for r in rows])
        return 0
    for row in rows:
        print(_line(row, tz))
    if not rows:
        print(_("no audit rows match"), file=sys.stderr)
    return 0


def _bound(raw: str | None, tz: ZoneInfo, field: str, *, end: bool) -> datetime | None:
    """A --from/--to value: a day (the whole office day) or an office time."""
    if raw is None:
        return None
    if len(raw.strip()) <= 10:
        day = local_start_of_day(parse_date(raw, field=field), tz)
        return day + timedelta(days=1) if end else day
    return parse_when(raw, tz, field=field)


def _who(row: AuditEvent) -> str:
    if row.real_actor and row.real_actor != row.actor:
        return f"{row.real_actor} as {row.actor}"
    return row.actor


def _line(row: AuditEvent, tz: ZoneInfo) -> str:
    post = f"post {row.post_id}" if row.post_id is not None else "-"
    parts = [office_text(row.at, tz), _who(row), row.action, post]
    if row.detail:
        parts.append(row.detail)
    return "  ".join(parts)


def _as_json(row: AuditEvent, tz: ZoneInfo) -> dict[str, object]:
    return {
        "seq": row.seq,
        "id": row.id,
        "at": local_iso(row.at, tz),
        "actor": row.actor,
        "real_actor": row.real_actor,
        "os_user": row.os_user,
        "action": row.action,
        "post_id": row.post_id,
        "delivery_id": row.delivery_id,
        "detail": row.detail,
        "before": row.before,
        "after": row.after,
        "hash": row.hash,
    }
