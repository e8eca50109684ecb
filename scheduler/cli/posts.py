"""`loa post ...`: queue, review, list, export and import posts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from content.bulk import apply_each, mover, next_slot
from content.errors import LoaError, ValidationError
from content.files import write_private
from content.listing import PostFilter, find_posts
from content.messages import Notice, os_reason
from content.models import Delivery, Post, PostState
from content.queue import LIVE_STATES, ImageInput, Outcome, PostInput, Repeat
from content.serialize import post_json
from content.times import TIME_FORMATS, local_start_of_day, local_text, parse_date, parse_when
from content.transfer import export_csv, export_images, export_json, read_csv
from scheduler.cli.common import Context, for_terminal, print_json, subcommand_parent, warn

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: What --at takes, for the help.
AT_HELP = f'office time: "{TIME_FORMATS}", ISO 8601, or "next" (the next free posting slot)'
#: How a refusal says the action.
#: What it says when --series / --campaign pick no post for the action.
NONE_SELECTED = {
    "approve": "none_approvable",
    "cancel": "none_cancellable",
    "schedule": "none_reschedulable",
}
#: Which posts --series / --campaign pick for each action (explicit ids are all tried).
SELECTABLE = {
    "approve": (PostState.IN_REVIEW,),
    "cancel": LIVE_STATES,
    "schedule": LIVE_STATES,
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``post`` commands."""
    post = subparsers.add_parser("post", help="queue and manage posts")
    sub = post.add_subparsers(title="post commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    for command in (
        _add_command,
        _list_command,
        _show_command,
        _submit_command,
        _edit_command,
        _each_command,
        _send_back_command,
        _retry_command,
        _resolve_command,
        _export_command,
        _import_command,
    ):
        command(sub, parent)


def _add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post add``: queue a new post."""
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
    when.add_argument("--at", help=AT_HELP)
    when.add_argument("--now", action="store_true", help="publish as soon as approved")
    add.add_argument("--repeat-days", type=int, metavar="N", help="repeat every N days")
    add.add_argument("--repeat-weekdays", metavar="mon,thu", help="repeat weekly on these days")
    add.add_argument("--until", metavar="YYYY-MM-DD", help="last day of the repeat")
    add.add_argument("--submit", action="store_true", help="send for review at once")
    add.add_argument("--approve", action="store_true", help="submit and approve at once")
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(handler=run_add)


def _list_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post list``: list posts."""
    ls = sub.add_parser("list", parents=[parent], help="list posts")
    ls.add_argument("--state", choices=[s.value for s in PostState])
    ls.add_argument("--channel", metavar="ID")
    ls.add_argument("--campaign")
    ls.add_argument(
        "--search",
        metavar="TEXT",
        help="title, text or author contains TEXT (case and diacritics ignored)",
    )
    ls.add_argument("--from", dest="date_from", metavar="DATE", help="first office day")
    ls.add_argument("--to", dest="date_to", metavar="DATE", help="last office day (inclusive)")
    ls.add_argument("--limit", type=int, default=None)
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)


def _show_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post show``: one post."""
    show = sub.add_parser("show", parents=[parent], help="one post, its deliveries and history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=run_show)


def _submit_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post submit``: send a draft for review."""
    submit = sub.add_parser("submit", parents=[parent], help="send a draft for review")
    submit.add_argument("id", type=int)
    submit.add_argument("--json", action="store_true", help="machine-readable output")
    submit.set_defaults(handler=run_simple, action="submit")


def _edit_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post edit``: change a post's content or channels."""
    edit = sub.add_parser(
        "edit",
        parents=[parent],
        help="change a post's content or channels (until it is being sent)",
        description="Only what is given changes. After approval, a change of content or "
        "channels returns the post to review where the office requires a second approver.",
    )
    edit.add_argument("id", type=int)
    edit.add_argument("--text", help="the new text ('-' reads standard input)")
    edit.add_argument("--title", help="the new title ('' removes it)")
    edit.add_argument("--link", help="the new link ('' removes it)")
    edit.add_argument(
        "--channel",
        action="append",
        metavar="ID",
        help="the post's channels from now on (repeat for more; replaces the old ones)",
    )
    edit.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="CHANNEL=TEXT",
        help="different text for one channel ('CHANNEL=' removes it)",
    )
    edit.add_argument("--campaign", help="the new campaign ('' removes it)")
    edit.add_argument(
        "--tag", action="append", metavar="TAG", help="the tags from now on (replace the old)"
    )
    edit.add_argument("--json", action="store_true", help="machine-readable output")
    edit.set_defaults(handler=run_edit)


def _each_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post approve|cancel|reschedule``: one or many posts, each changed on its own."""
    for name, action, helptext in (
        ("approve", "approve", "approve posts in review"),
        ("cancel", "cancel", "cancel posts"),
        ("reschedule", "schedule", "give posts a new time"),
    ):
        cmd = sub.add_parser(
            name,
            parents=[parent],
            help=helptext,
            description="Each post is checked and changed on its own; one refused post "
            "leaves the others done and the command exits 2 naming it.",
        )
        cmd.add_argument("ids", type=int, nargs="*", metavar="ID", help="post ids")
        cmd.add_argument(
            "--series", type=int, metavar="ID", help="every post of the series this post is in"
        )
        cmd.add_argument("--campaign", metavar="NAME", help="every post of this campaign")
        if name == "cancel":
            cmd.add_argument("--reason")
        if name == "reschedule":
            group = cmd.add_mutually_exclusive_group(required=True)
            group.add_argument("--at", help=AT_HELP + "; with several posts, each its own slot")
            group.add_argument("--now", action="store_true", help="publish as soon as approved")
        cmd.add_argument("--json", action="store_true", help="machine-readable output")
        cmd.set_defaults(handler=run_each, action=action)


def _send_back_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post send-back``: return a post to its author."""
    back = sub.add_parser("send-back", parents=[parent], help="return a post to its author")
    back.add_argument("id", type=int)
    back.add_argument("--comment", required=True)
    back.add_argument("--json", action="store_true", help="machine-readable output")
    back.set_defaults(handler=run_simple, action="send_back")


def _retry_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post retry``: send a failed delivery again."""
    retry = sub.add_parser("retry", parents=[parent], help="send a failed delivery again now")
    retry.add_argument("delivery", type=int, metavar="DELIVERY_ID")
    retry.add_argument("--json", action="store_true", help="machine-readable output")
    retry.set_defaults(handler=run_simple, action="retry")


def _resolve_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post resolve``: settle a needs_review delivery."""
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


def _export_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post export``: export posts."""
    export = sub.add_parser("export", parents=[parent], help="export posts as CSV or JSON")
    export.add_argument("--from", dest="date_from", metavar="DATE", help="first office day")
    export.add_argument("--to", dest="date_to", metavar="DATE", help="last office day, inclusive")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument(
        "--semicolon",
        action="store_true",
        help="separate CSV cells with ';' (what Excel expects where ',' is the decimal mark)",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write here instead of stdout (the posts' images are written beside it)",
    )
    export.set_defaults(handler=run_export)


def _import_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa post import``: import posts from CSV."""
    imp = sub.add_parser("import", parents=[parent], help="import posts from CSV, all or nothing")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    imp.add_argument("--submit", action="store_true")
    imp.add_argument("--approve", action="store_true")
    imp.add_argument(
        "--keep-duplicates",
        action="store_true",
        help="import rows even when the same post (text, channels, time) is already queued",
    )
    imp.add_argument("--json", action="store_true", help="machine-readable output")
    imp.set_defaults(handler=run_import)


def run_add(args: argparse.Namespace) -> int:
    """Validate and queue one post (or a repeat series)."""
    ctx = Context(args)
    text = sys.stdin.read() if args.text == "-" else args.text
    at = None
    if args.now:
        at = ctx.queue.clock()
    elif args.at:
        at = _when(ctx, args.at, ctx.config.directory().expand(args.channel))
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
    start, end = _days(args.date_from, args.date_to, tz)
    rows = find_posts(
        ctx.engine,
        PostFilter(
            state=args.state,
            channel=args.channel,
            campaign=args.campaign,
            text=args.search,
            scheduled_from=start,
            scheduled_to=end,
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
        print(for_terminal(_table_row(post, deliveries, tz)))
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
        print(for_terminal(f"title: {post.title}"))
    print(for_terminal(post.text))
    if post.link:
        print(for_terminal(f"link: {post.link}"))
    if post.review_comment:
        print(for_terminal(f"review: {post.review_comment}"))
    for d in deliveries:
        line = f"  {d.channel}: {d.state} (attempts {d.attempts})"
        if d.permalink:
            line += f" {d.permalink}"
        if d.last_error_message:
            line += f" - {d.last_error_class} {d.last_error_code or ''}: {d.last_error_message}"
        print(for_terminal(line))
    for event in ctx.queue.audit_trail(args.id):
        print(
            f"  {local_text(event.at, tz)}  {event.actor}"
            + (f" (by {event.real_actor})" if event.real_actor else "")
            + f": {event.action}"
            + (f" ({event.detail})" if event.detail else "")
        )
    return 0


def run_simple(args: argparse.Namespace) -> int:
    """submit / send-back a post; retry / resolve a delivery."""
    ctx = Context(args)
    queue = ctx.queue
    if args.action == "submit":
        outcome = queue.submit(args.id)
    elif args.action == "send_back":
        outcome = queue.send_back(args.id, args.comment)
    elif args.action == "retry":
        outcome = queue.retry_delivery(args.delivery)
    else:
        outcome = queue.resolve_review(
            args.delivery, published=args.published, permalink=args.permalink
        )
    _report(ctx, outcome, args.json, verb="updated")
    return 0


def run_edit(args: argparse.Namespace) -> int:
    """Change what is given of one post, through the queue rules (Queue.edit)."""
    ctx = Context(args)
    given = (args.text, args.title, args.link, args.channel, args.campaign, args.tag)
    if all(v is None for v in given) and not args.variant:
        raise ValidationError("edit_nothing", field="edit")
    variants = None
    if args.variant or args.channel is not None:
        # Variants are kept per channel: start from the post's own, drop those of channels
        # it leaves (the queue refuses a variant for a channel the post does not go to).
        _, deliveries = ctx.queue.get(args.id)
        channels = (
            ctx.config.directory().expand(args.channel)
            if args.channel is not None
            else [d.channel for d in deliveries]
        )
        variants = {d.channel: d.text_variant for d in deliveries if d.text_variant}
        for channel, text in _edited_variants(args.variant).items():
            if text:
                variants[channel] = text
            else:
                variants.pop(channel, None)
        variants = {c: t for c, t in variants.items() if c in channels}
    outcome = ctx.queue.edit(
        args.id,
        text=sys.stdin.read() if args.text == "-" else args.text,
        title=args.title,
        link=args.link,
        channels=args.channel,
        campaign=args.campaign,
        tags=args.tag,
        variants=variants,
    )
    _report(ctx, outcome, args.json, verb="edited")
    return 0


def run_each(args: argparse.Namespace) -> int:
    """approve / cancel / reschedule: one post, several, a series or a campaign.

    Each post is checked and changed in its own transaction, so a refused post is left
    exactly as it was; the others are done. Any refusal ends in exit 2 naming the posts.
    """
    ctx = Context(args)
    queue = ctx.queue
    ids = _targets(ctx, args)
    act: Callable[[int], Outcome]
    if args.action == "approve":
        act = queue.approve
    elif args.action == "cancel":
        act = lambda post_id: queue.cancel(post_id, args.reason)  # noqa: E731
    else:
        act = _rescheduler(ctx, args)
    if len(ids) == 1 and not (args.series or args.campaign):
        # One post named: its refusal is the command's one error line, as ever.
        _report(ctx, act(ids[0]), args.json, verb="updated")
        return 0
    result = apply_each(ids, act)
    refused = result.refused
    merged = Outcome(posts=result.posts, warnings=result.warnings)
    if args.json:
        tz = ctx.config.directory().office.timezone
        print_json(
            {
                "posts": [post_json(*ctx.queue.get(p.id or 0), tz) for p in merged.posts],
                "warnings": merged.warnings,
                "refused": [{"id": i, "code": e.code, "error": str(e)} for i, e in refused],
            }
        )
    else:
        _report(ctx, merged, False, verb="updated")
    if refused:
        raise LoaError(
            "posts_refused",
            n=len(refused),
            total=len(ids),
            ids=[i for i, _ in refused],
            details=[e.located(where=Notice("at_post", id=i)) for i, e in refused],
        )
    return 0


def _targets(ctx: Context, args: argparse.Namespace) -> list[int]:
    """The posts named: ids as given, then the --series and --campaign posts still open."""
    ids = list(args.ids)
    states = SELECTABLE[args.action]
    selections: list[PostFilter] = []
    if args.series is not None:
        post, _ = ctx.queue.get(args.series)
        if post.series_id:
            selections.append(PostFilter(series_id=post.series_id, visible=ctx.access.channels))
        else:
            ids.append(args.series)  # a post made alone is a series of one
    if args.campaign:
        selections.append(PostFilter(campaign=args.campaign, visible=ctx.access.channels))
    for flt in selections:
        ids.extend(p.id for p, _ in find_posts(ctx.engine, flt) if p.state in states and p.id)
    unique = list(dict.fromkeys(ids))
    if not unique:
        if args.ids or args.series is not None or args.campaign:
            raise ValidationError(
                NONE_SELECTED[args.action],
                field="--campaign" if args.campaign else "--series",
                states=[str(s) for s in states],
            )
        raise ValidationError("name_posts", field="ID")
    return unique


def _rescheduler(ctx: Context, args: argparse.Namespace) -> Callable[[int], Outcome]:
    """Move one post to --at / --now; "next" gives each post the next slot still free."""
    queue = ctx.queue
    if args.now:
        at: datetime | None = queue.clock()
    elif args.at.strip().lower() == "next":
        at = None
    else:
        at = _when(ctx, args.at, ())
    return mover(queue, ctx.engine, ctx.config.directory(), at, field_name="--at")


def run_export(args: argparse.Namespace) -> int:
    """Export posts scheduled in a date range (office days, inclusive)."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    start, end = _days(args.date_from, args.date_to, tz)
    rows = find_posts(
        ctx.engine,
        PostFilter(scheduled_from=start, scheduled_to=end, visible=ctx.access.channels),
    )
    if args.format == "json":
        text = export_json(rows, tz)
    else:
        # Images go beside the file (where an import looks for them); on stdout there is no
        # "beside", so the column names them only.
        folder = Path(args.output).resolve().parent if args.output else None
        names = export_images(ctx.engine, rows, folder)
        text = export_csv(rows, tz, images=names, delimiter=";" if args.semicolon else ",")
    if args.output:
        write_private(args.output, text)  # mode 600, not 644: see content.files
        print(f"{len(rows)} posts written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Validate every row, then create all posts in one transaction (or none)."""
    ctx = Context(args)
    plan = read_csv(args.file, ctx.queue, keep_duplicates=args.keep_duplicates)
    for line in plan.skipped:
        warn(line)
    skipped = f"; {len(plan.skipped)} already queued, skipped" if plan.skipped else ""
    if args.dry_run:
        print(
            f"{args.file}: {len(plan.requests)} rows are valid{skipped}; nothing written (dry run)"
        )
        return 0
    if not plan.requests:
        print(f"{args.file}: 0 posts imported{skipped}")
        return 0
    outcome = ctx.queue.create_many(plan.requests, submit=args.submit, approve=args.approve)
    if args.json:
        _report(ctx, outcome, True, verb="imported")
    else:
        for message in outcome.warnings:
            warn(message)
        print(f"{args.file}: {len(outcome.posts)} posts imported{skipped}")
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


def _when(ctx: Context, text: str, channels: Sequence[str]) -> datetime:
    """A --at value: a typed office time (content.times), or "next" free slot on ``channels``."""
    if text.strip().lower() == "next":
        return next_slot(
            ctx.engine, ctx.config.directory(), channels, ctx.queue.clock(), field_name="--at"
        )
    return parse_when(text, ctx.config.directory().office.timezone, now=ctx.queue.clock())


def _days(
    first: str | None, last: str | None, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """--from/--to office days (inclusive) as [start, end) in UTC."""
    start = local_start_of_day(parse_date(first, field="--from"), tz) if first else None
    end = None
    if last:
        end = local_start_of_day(parse_date(last, field="--to"), tz) + timedelta(days=1)
    if start and end and end <= start:
        raise ValidationError("to_before_from", field="--to")
    return start, end


def _edited_variants(values: list[str]) -> dict[str, str]:
    """--variant CHANNEL=TEXT values; an empty TEXT removes that channel's own text."""
    variants = {}
    for value in values:
        channel, sep, text = value.partition("=")
        if not sep or not channel.strip():
            raise ValidationError("variant_format", field="--variant", value=value)
        variants[channel.strip()] = text.strip()
    return variants


def _read_image(path: str) -> ImageInput:
    try:
        return ImageInput(filename=Path(path).name, data=Path(path).read_bytes())
    except OSError as exc:
        raise ValidationError(
            "file_unreadable", field="--image", path=path, reason=os_reason(exc)
        ) from None


def _variants(values: list[str]) -> dict[str, str]:
    variants = {}
    for value in values:
        channel, sep, text = value.partition("=")
        if not sep or not channel.strip() or not text.strip():
            raise ValidationError("variant_format", field="--variant", value=value)
        variants[channel.strip()] = text
    return variants


def _repeat(args: argparse.Namespace) -> Repeat | None:
    if args.repeat_days is None and args.repeat_weekdays is None:
        if args.until:
            raise ValidationError("until_alone", field="--until")
        return None
    if not args.until:
        raise ValidationError("repeat_needs_until", field="--until")
    until = parse_date(args.until, field="--until")
    weekdays: tuple[int, ...] = ()
    if args.repeat_weekdays:
        names = [n.strip().lower()[:3] for n in args.repeat_weekdays.split(",") if n.strip()]
        unknown = [n for n in names if n not in WEEKDAYS]
        if unknown:
            raise ValidationError(
                "weekday_unknown",
                field="--repeat-weekdays",
                name=unknown[0],
                known=",".join(WEEKDAYS),
            )
        weekdays = tuple(sorted({WEEKDAYS.index(n) for n in names}))
    return Repeat(until=until, every_days=args.repeat_days, weekdays=weekdays)
