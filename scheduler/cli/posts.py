"""`loa post ...`: queue, review, list, export and import posts."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from content.errors import ValidationError
from content.files import write_private
from content.listing import PostFilter, find_posts
from content.models import Delivery, Post, PostState
from content.queue import ImageInput, Outcome, PostInput, Repeat
from content.serialize import post_json
from content.times import local_start_of_day, local_text, parse_date, parse_when
from content.transfer import export_csv, export_json, read_csv
from scheduler.cli.common import Context, print_json, subcommand_parent, warn

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``post`` commands."""
    post = subparsers.add_parser("post", help="queue and manage posts")
    sub = post.add_subparsers(title="post commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    add = sub.add_parser("add", parents=[parent], help="queue a new post")
    add.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ID",
        help="channel id or group (repeat for more)",
    )
    add.add_argument("--text", required=True, help="the post text ('-' reads standard input)")
    add.add_argument("--title", help="title (required for Zalo OA)")
    add.add_argument("--link", help="link to attach")
    add.add_argument("--image", action="append", default=[], metavar="PATH", help="image file")
    add.add_argument("--campaign")
    add.add_argument("--tag", action="append", default=[], help="tag (repeat for more)")
    add.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="CHANNEL=TEXT",
        help="different text for one channel",
    )
    when = add.add_mutually_exclusive_group()
    when.add_argument("--at", help='"YYYY-MM-DD HH:MM" in office time, or ISO 8601')
    when.add_argument("--now", action="store_true", help="publish as soon as approved")
    add.add_argument("--repeat-days", type=int, metavar="N", help="repeat every N days")
    add.add_argument("--repeat-weekdays", metavar="mon,thu", help="repeat weekly on these days")
    add.add_argument("--until", metavar="YYYY-MM-DD", help="last day of the repeat")
    add.add_argument("--submit", action="store_true", help="send for review at once")
    add.add_argument("--approve", action="store_true", help="submit and approve at once")
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(handler=run_add)

    ls = sub.add_parser("list", parents=[parent], help="list posts")
    ls.add_argument("--state", choices=[s.value for s in PostState])
    ls.add_argument("--channel", metavar="ID")
    ls.add_argument("--campaign")
    ls.add_argument("--search", metavar="TEXT", help="text or title contains TEXT")
    ls.add_argument("--limit", type=int, default=None)
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)

    show = sub.add_parser("show", parents=[parent], help="one post, its deliveries and history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=run_show)

    for name, helptext in (
        ("submit", "send a draft for review"),
        ("approve", "approve a post in review"),
    ):
        cmd = sub.add_parser(name, parents=[parent], help=helptext)
        cmd.add_argument("id", type=int)
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        cmd.set_defaults(handler=run_simple, action=name)

    back = sub.add_parser("send-back", parents=[parent], help="return a post to its author")
    back.add_argument("id", type=int)
    back.add_argument("--comment", required=True)
    back.add_argument("--json", action="store_true", help="machine-readable output")
    back.set_defaults(handler=run_simple, action="send_back")

    cancel = sub.add_parser("cancel", parents=[parent], help="cancel a post")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--reason")
    cancel.add_argument("--json", action="store_true", help="machine-readable output")
    cancel.set_defaults(handler=run_simple, action="cancel")

    resched = sub.add_parser("reschedule", parents=[parent], help="give a post a new time")
    resched.add_argument("id", type=int)
    group = resched.add_mutually_exclusive_group(required=True)
    group.add_argument("--at")
    group.add_argument("--now", action="store_true")
    resched.add_argument("--json", action="store_true", help="machine-readable output")
    resched.set_defaults(handler=run_simple, action="schedule")

    retry = sub.add_parser("retry", parents=[parent], help="send a failed delivery again now")
    retry.add_argument("delivery", type=int, metavar="DELIVERY_ID")
    retry.add_argument("--json", action="store_true", help="machine-readable output")
    retry.set_defaults(handler=run_simple, action="retry")

    resolve = sub.add_parser(
        "resolve",
        parents=[parent],
        help="settle a needs_review delivery after checking the Page/OA",
    )
    resolve.add_argument("delivery", type=int, metavar="DELIVERY_ID")
    verdict = resolve.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--published", action="store_true", help="it is on the Page/OA")
    verdict.add_argument("--not-published", action="store_true", help="it is not: send it again")
    resolve.add_argument("--permalink", metavar="URL", help="where it was found")
    resolve.add_argument("--json", action="store_true", help="machine-readable output")
    resolve.set_defaults(handler=run_simple, action="resolve")

    export = sub.add_parser("export", parents=[parent], help="export posts as CSV or JSON")
    export.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="inclusive")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    export.set_defaults(handler=run_export)

    imp = sub.add_parser("import", parents=[parent], help="import posts from CSV, all or nothing")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    imp.add_argument("--submit", action="store_true")
    imp.add_argument("--approve", action="store_true")
    imp.add_argument("--json", action="store_true", help="machine-readable output")
    imp.set_defaults(handler=run_import)


def run_add(args: argparse.Namespace) -> int:
    """Validate and queue one post (or a repeat series)."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    text = sys.stdin.read() if args.text == "-" else args.text
    at = ctx.queue.clock() if args.now else (parse_when(args.at, tz) if args.at else None)
    request = PostInput(
        text=text,
        channels=args.channel,
        title=args.title,
        link=args.link,
        images=[_read_image(p) for p in args.image],
        campaign=args.campaign,
        tags=args.tag,
        at=at,
        variants=_variants(args.variant),
        repeat=_repeat(args),
    )
    outcome = ctx.queue.create(request, submit=args.submit, approve=args.approve)
    _report(ctx, outcome, args.json, verb="created")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List posts as a table or JSON."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    rows = find_posts(
        ctx.engine,
        PostFilter(
            state=args.state,
            channel=args.channel,
            campaign=args.campaign,
            text=args.search,
            limit=args.limit,
            visible=ctx.access.channels,
        ),
    )
    if args.json:
        print_json([post_json(p, d, tz) for p, d in rows])
        return 0
    if not rows:
        print("no posts")
        return 0
    for post, deliveries in rows:
        print(_table_row(post, deliveries, tz))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Show one post with its deliveries and audit trail."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    post, deliveries = ctx.queue.get(args.id)
    if args.json:
        print_json(post_json(post, deliveries, tz))
        return 0
    print(f"post {post.id}  {post.state}  {local_text(post.scheduled_at, tz)}  by {post.author}")
    if post.title:
        print(f"title: {post.title}")
    print(post.text)
    if post.link:
        print(f"link: {post.link}")
    if post.review_comment:
        print(f"review: {post.review_comment}")
    for d in deliveries:
        line = f"  {d.channel}: {d.state} (attempts {d.attempts})"
        if d.permalink:
            line += f" {d.permalink}"
        if d.last_error_message:
            line += f" - {d.last_error_class} {d.last_error_code or ''}: {d.last_error_message}"
        print(line)
    for event in ctx.queue.audit_trail(args.id):
        print(
            f"  {local_text(event.at, tz)}  {event.actor}"
            + (f" (by {event.real_actor})" if event.real_actor else "")
            + f": {event.action}"
            + (f" ({event.detail})" if event.detail else "")
        )
    return 0


def run_simple(args: argparse.Namespace) -> int:
    """submit / approve / send-back / cancel / reschedule a post; retry / resolve a delivery."""
    ctx = Context(args)
    queue = ctx.queue
    if args.action == "submit":
        outcome = queue.submit(args.id)
    elif args.action == "approve":
        outcome = queue.approve(args.id)
    elif args.action == "send_back":
        outcome = queue.send_back(args.id, args.comment)
    elif args.action == "cancel":
        outcome = queue.cancel(args.id, args.reason)
    elif args.action == "retry":
        outcome = queue.retry_delivery(args.delivery)
    elif args.action == "resolve":
        outcome = queue.resolve_review(
            args.delivery, published=args.published, permalink=args.permalink
        )
    else:
        tz = ctx.config.directory().office.timezone
        at = queue.clock() if args.now else parse_when(args.at, tz)
        outcome = queue.schedule(args.id, at)
    _report(ctx, outcome, args.json, verb="updated")
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export posts scheduled in a date range (office days, inclusive)."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    start = (
        local_start_of_day(parse_date(args.date_from, field="--from"), tz)
        if args.date_from
        else None
    )
    end = None
    if args.date_to:
        end = local_start_of_day(parse_date(args.date_to, field="--to"), tz) + timedelta(days=1)
    if start and end and end <= start:
        raise ValidationError("--to is before --from", field="--to")
    rows = find_posts(
        ctx.engine,
        PostFilter(scheduled_from=start, scheduled_to=end, visible=ctx.access.channels),
    )
    text = export_csv(rows, tz) if args.format == "csv" else export_json(rows, tz)
    if args.output:
        write_private(args.output, text)  # mode 600, not 644: see content.files
        print(f"{len(rows)} posts written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Validate every row, then create all posts in one transaction (or none)."""
    ctx = Context(args)
    requests = read_csv(args.file, ctx.queue)
    if args.dry_run:
        print(f"{args.file}: {len(requests)} rows are valid; nothing written (dry run)")
        return 0
    outcome = ctx.queue.create_many(requests, submit=args.submit, approve=args.approve)
    if args.json:
        _report(ctx, outcome, True, verb="imported")
    else:
        for message in outcome.warnings:
            warn(message)
        print(f"{args.file}: {len(outcome.posts)} posts imported")
    return 0


def _report(ctx: Context, outcome: Outcome, as_json: bool, *, verb: str) -> None:
    tz = ctx.config.directory().office.timezone
    if as_json:
        posts = []
        for post in outcome.posts:
            _, deliveries = ctx.queue.get(post.id or 0)
            posts.append(post_json(post, deliveries, tz))
        print_json({"posts": posts, "warnings": outcome.warnings})
        return
    for message in outcome.warnings:
        warn(message)
    for post in outcome.posts:
        when = local_text(post.scheduled_at, tz) if post.scheduled_at else "no time yet"
        print(f"post {post.id} {verb}: {post.state}, {when}")


def _table_row(post: Post, deliveries: list[Delivery], tz: object) -> str:
    first_line = (post.title or post.text).splitlines()[0] if (post.title or post.text) else ""
    if len(first_line) > 50:
        first_line = first_line[:49] + "…"
    channels = " ".join(f"{d.channel}:{d.state}" for d in deliveries)
    when = local_text(post.scheduled_at, tz) if post.scheduled_at else "-"  # type: ignore[arg-type]
    return f"{post.id:>5}  {when:<16}  {post.state:<9}  {post.author:<12}  {channels}  {first_line}"


def _read_image(path: str) -> ImageInput:
    try:
        return ImageInput(filename=Path(path).name, data=Path(path).read_bytes())
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read ({exc.strerror})", field="--image") from None


def _variants(values: list[str]) -> dict[str, str]:
    variants = {}
    for value in values:
        channel, sep, text = value.partition("=")
        if not sep or not channel.strip() or not text.strip():
            raise ValidationError(f"{value!r}: expected CHANNEL=TEXT", field="--variant")
        variants[channel.strip()] = text
    return variants


def _repeat(args: argparse.Namespace) -> Repeat | None:
    if args.repeat_days is None and args.repeat_weekdays is None:
        if args.until:
            raise ValidationError(
                "--until needs --repeat-days or --repeat-weekdays", field="--until"
            )
        return None
    if not args.until:
        raise ValidationError("a repeat needs --until YYYY-MM-DD", field="--until")
    until = parse_date(args.until, field="--until")
    weekdays: tuple[int, ...] = ()
    if args.repeat_weekdays:
        names = [n.strip().lower()[:3] for n in args.repeat_weekdays.split(",") if n.strip()]
        unknown = [n for n in names if n not in WEEKDAYS]
        if unknown:
            raise ValidationError(
                f"unknown weekday {unknown[0]!r}; expected {','.join(WEEKDAYS)}",
                field="--repeat-weekdays",
            )
        weekdays = tuple(sorted({WEEKDAYS.index(n) for n in names}))
    return Repeat(until=until, every_days=args.repeat_days, weekdays=weekdays)
