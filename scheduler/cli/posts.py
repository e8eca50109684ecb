"""`loa post ...`: queue, review, list, export and import posts (the arguments of each
subcommand are in :mod:`scheduler.cli.posts_args`)."""

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
from content.i18n import N_, _, ngettext
from content.labels import audit_action, delivery_state, post_state
from content.listing import PostFilter, find_posts
from content.messages import Notice, os_reason
from content.models import Delivery, Post, PostState
from content.queue import LIVE_STATES, ImageInput, Outcome, PostInput, Repeat
from content.serialize import post_json
from content.times import local_start_of_day, office_text, parse_date, parse_when
from content.transfer import export_csv, export_images, export_json, read_csv
from scheduler.cli.common import Context, for_terminal, print_json, subcommand_parent, warn
from scheduler.cli.posts_args import post_parsers

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
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


#: What a command did to each post it names, with the post's state and time.
_DONE = {
    "created": N_("post {id} created: {state}, {when}"),
    "updated": N_("post {id} updated: {state}, {when}"),
    "edited": N_("post {id} edited: {state}, {when}"),
    "imported": N_("post {id} imported: {state}, {when}"),
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``post`` commands."""
    post = subparsers.add_parser("post", help="queue and manage posts")
    sub = post.add_subparsers(title="post commands", metavar="COMMAND", required=True)
    parent = subcommand_parent()

    for name, parser in post_parsers(sub, parent).items():
        handler, action = HANDLERS[name]
        if action is None:
            parser.set_defaults(handler=handler)
        else:
            parser.set_defaults(handler=handler, action=action)


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
        print(_("no posts"))
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
    when = office_text(post.scheduled_at, tz) if post.scheduled_at else _("no time yet")
    print(
        for_terminal(
            _("post {id}  {state}  {when}  by {author}").format(
                id=post.id, state=post_state(post.state), when=when, author=post.author
            )
        )
    )
    if post.title:
        print(for_terminal(_("title: {title}").format(title=post.title)))
    print(for_terminal(post.text))
    if post.link:
        print(for_terminal(_("link: {link}").format(link=post.link)))
    if post.review_comment:
        print(for_terminal(_("review: {comment}").format(comment=post.review_comment)))
    for d in deliveries:
        line = "  " + ngettext(
            "{channel}: {state} ({n} attempt)", "{channel}: {state} ({n} attempts)", d.attempts
        ).format(channel=d.channel, state=delivery_state(d.state), n=d.attempts)
        if d.permalink:
            line += f" {d.permalink}"
        if d.last_error_message:
            line += f" - {d.last_error_class} {d.last_error_code or ''}: {d.last_error_message}"
        print(for_terminal(line))
    for event in ctx.queue.audit_trail(args.id):
        actor = (
            _("{actor} (by {real_actor})").format(actor=event.actor, real_actor=event.real_actor)
            if event.real_actor
            else event.actor
        )
        print(
            for_terminal(
                f"  {office_text(event.at, tz)}  {actor}: {audit_action(event.action)}"
                + (f" ({event.detail})" if event.detail else "")
            )
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
        deliveries = ctx.queue.get(args.id)[1]
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
        post = ctx.queue.get(args.series)[0]
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
        print(
            ngettext("{n} post written to {file}", "{n} posts written to {file}", len(rows)).format(
                n=len(rows), file=args.output
            ),
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Validate every row, then create all posts in one transaction (or none)."""
    ctx = Context(args)
    plan = read_csv(args.file, ctx.queue, keep_duplicates=args.keep_duplicates)
    for line in plan.skipped:
        warn(line)
    skipped = _("; {n} already queued, skipped").format(n=len(plan.skipped)) if plan.skipped else ""
    if args.dry_run:
        n = len(plan.requests)
        valid = ngettext("{file}: {n} row is valid", "{file}: {n} rows are valid", n)
        print(valid.format(file=args.file, n=n) + skipped + _("; nothing written (dry run)"))
        return 0
    if not plan.requests:
        print(_imported(args.file, 0) + skipped)
        return 0
    outcome = ctx.queue.create_many(plan.requests, submit=args.submit, approve=args.approve)
    if args.json:
        _report(ctx, outcome, True, verb="imported")
    else:
        for message in outcome.warnings:
            warn(message)
        print(_imported(args.file, len(outcome.posts)) + skipped)
    return 0


def _imported(file: str, n: int) -> str:
    return ngettext("{file}: {n} post imported", "{file}: {n} posts imported", n).format(
        file=file, n=n
    )


def _report(ctx: Context, outcome: Outcome, as_json: bool, *, verb: str) -> None:
    tz = ctx.config.directory().office.timezone
    if as_json:
        posts = []
        for post in outcome.posts:
            deliveries = ctx.queue.get(post.id or 0)[1]
            posts.append(post_json(post, deliveries, tz))
        print_json({"posts": posts, "warnings": outcome.warnings})
        return
    for message in outcome.warnings:
        warn(message)
    for post in outcome.posts:
        when = office_text(post.scheduled_at, tz) if post.scheduled_at else _("no time yet")
        line = _(_DONE[verb]).format(id=post.id, state=post_state(post.state), when=when)
        print(for_terminal(line))


def _table_row(post: Post, deliveries: list[Delivery], tz: object) -> str:
    first_line = (post.title or post.text).splitlines()[0] if (post.title or post.text) else ""
    if len(first_line) > 50:
        first_line = first_line[:49] + "…"
    channels = " ".join(f"{d.channel}:{delivery_state(d.state)}" for d in deliveries)
    when = office_text(post.scheduled_at, tz) if post.scheduled_at else "-"  # type: ignore[arg-type]
    state = post_state(post.state)
    return f"{post.id:>5}  {when:<16}  {state:<11}  {post.author:<12}  {channels}  {first_line}"


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


#: Which handler runs each ``post`` subcommand, and the queue action it takes (None: its own).
HANDLERS: dict[str, tuple[Callable[[argparse.Namespace], int], str | None]] = {
    "add": (run_add, None),
    "list": (run_list, None),
    "show": (run_show, None),
    "submit": (run_simple, "submit"),
    "edit": (run_edit, None),
    "approve": (run_each, "approve"),
    "cancel": (run_each, "cancel"),
    "reschedule": (run_each, "schedule"),
    "send-back": (run_simple, "send_back"),
    "retry": (run_simple, "retry"),
    "resolve": (run_simple, "resolve"),
    "export": (run_export, None),
    "import": (run_import, None),
}
