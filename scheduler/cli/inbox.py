"""`loa inbox ...`: citizens' tips, questions and comments; a thin layer over content.inbox.

Who may see and do what, every state change and every audit row live in
:class:`content.inbox.Inbox`; replies go out through the channel's client
(:mod:`scheduler.inbox_reply`). Listing shows no personal data; ``show`` opens the thread
(audited: who read which tip).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from content.i18n import N_, _, ngettext
from content.inbox import PRIVATE, PUBLIC, TAGS, Counts, Inbox, ThreadFilter, ThreadSummary
from content.inbox_counts import UnitCounts, by_unit
from content.inbox_json import summary_json, thread_json
from content.inbox_media import AttachmentView, open_attachment
from content.labels import kind_short, tag_label, thread_state
from content.models import ThreadKind, ThreadState
from content.times import office_text, utcnow
from scheduler.cli.common import Context, print_json, subcommand_parent
from scheduler.inbox_jobs import inbox_sealer
from scheduler.inbox_reply import answer

#: How a window rule reads in a table (msgids).
RULES = {
    "zalo_7d": N_("Zalo 7 d"),
    "messenger_24h": N_("Messenger 24 h"),
    "messenger_human_agent_7d": N_("Human Agent 7 d"),
    "private_reply_7d": N_("private reply 7 d"),
    "none": "-",
}
#: What Facebook did to a comment, as the thread shows it (msgids).
_REMOVED = {"remove": N_("removed on Facebook"), "hide": N_("hidden on Facebook")}
#: How a reply was sent (msgids; a message needs no words).
_ANSWERED = {PRIVATE: N_("privately, in Messenger"), PUBLIC: N_("under the comment")}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``inbox`` and its subcommands."""
    inbox = subparsers.add_parser(
        "inbox",
        parents=[subcommand_parent()],
        help="citizens' messages and comments: list, read, answer, assign, tag, close",
    )
    sub = inbox.add_subparsers(title="inbox commands", metavar="ACTION", required=True)
    parent = subcommand_parent()

    for command in (
        _list_command,
        _show_command,
        _attachment_command,
        _reply_command,
        _assign_command,
        _tag_command,
        _close_command,
        _counts_command,
    ):
        command(sub, parent)


def _list_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox list``: the threads, no personal data shown."""
    ls = sub.add_parser("list", parents=[parent], help="threads (no personal data shown)")
    ls.add_argument("--state", action="append", choices=[s.value for s in ThreadState], default=[])
    ls.add_argument("--channel", action="append", default=[], metavar="ID", help="channel or group")
    ls.add_argument("--tag", choices=TAGS)
    ls.add_argument("--assigned-to", metavar="USER")
    ls.add_argument("--mine", action="store_true", help="threads assigned to me")
    ls.add_argument("--unit", metavar="GROUP")
    ls.add_argument("--waiting", action="store_true", help="a citizen waits for an answer")
    ls.add_argument("--overdue", action="store_true", help="past the office's response target")
    ls.add_argument("--limit", type=int)
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(handler=run_list)


def _show_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox show``: open a thread (audited)."""
    show = sub.add_parser(
        "show", parents=[parent], help="open a thread: the citizen and every message (audited)"
    )
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=run_show)


def _attachment_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox attachment``: save a citizen's attachment to a file (audited)."""
    attachment = sub.add_parser(
        "attachment",
        parents=[parent],
        help="save a citizen's attachment (kept encrypted since it arrived) to a file (audited)",
    )
    attachment.add_argument("id", type=int, help="the attachment's id (see: loa inbox show)")
    attachment.add_argument("--out", required=True, metavar="FILE", help="where to save it")
    attachment.set_defaults(handler=run_attachment)


def _reply_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox reply``: answer the citizen."""
    reply = sub.add_parser(
        "reply",
        parents=[parent],
        help="answer the citizen (Zalo consultation message, Messenger, or a comment reply)",
    )
    reply.add_argument("id", type=int)
    reply.add_argument("--text", required=True, help="the answer ('-' reads standard input)")
    how = reply.add_mutually_exclusive_group()
    how.add_argument(
        "--private", action="store_true", help="comments: answer in Messenger (once, 7 days)"
    )
    how.add_argument("--public", action="store_true", help="comments: answer under the comment")
    reply.add_argument(
        "--to", type=int, metavar="MESSAGE_ID", help="comments: the comment to answer"
    )
    reply.add_argument("--json", action="store_true", help="machine-readable output")
    reply.set_defaults(handler=run_reply)


def _assign_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox assign``: give a thread to an officer or unit."""
    assign = sub.add_parser("assign", parents=[parent], help="give a thread to an officer or unit")
    assign.add_argument("id", type=int)
    assign.add_argument("--to", metavar="USER", help="the officer (approvers assign others)")
    assign.add_argument(
        "--unit", metavar="UNIT", help="a unit or channel group holding the thread's channel"
    )
    assign.add_argument("--json", action="store_true", help="machine-readable output")
    assign.set_defaults(handler=run_assign)


def _tag_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox tag``: tag a thread."""
    tag = sub.add_parser("tag", parents=[parent], help=f"tag a thread ({', '.join(TAGS)})")
    tag.add_argument("id", type=int)
    tag.add_argument("tags", nargs="*", metavar="TAG")
    tag.add_argument("--remove", action="append", default=[], metavar="TAG")
    tag.add_argument("--json", action="store_true", help="machine-readable output")
    tag.set_defaults(handler=run_tag)


def _close_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox close``: close a thread."""
    close = sub.add_parser("close", parents=[parent], help="close a thread")
    close.add_argument("id", type=int)
    close.add_argument("--json", action="store_true", help="machine-readable output")
    close.set_defaults(handler=run_close)


def _counts_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> None:
    """``loa inbox counts``: threads per unit or channel."""
    counts = sub.add_parser("counts", parents=[parent], help="threads per unit or channel")
    counts.add_argument(
        "--by",
        choices=("unit", "channel"),
        default="unit",
        help="unit: over the unit tree, each unit rolled up with those under it (channel "
        "groups when the office has no tree)",
    )
    counts.add_argument("--json", action="store_true", help="machine-readable output")
    counts.set_defaults(handler=run_counts)


def _inbox(ctx: Context) -> Inbox:
    engine = ctx.engine
    return Inbox(
        engine,
        ctx.config.directory(),
        inbox_sealer(engine, ctx.config),
        access=ctx.access,
        settings=ctx.config.inbox.settings(ctx.config.channels),
    )


def _tz(ctx: Context) -> ZoneInfo:
    return ctx.config.directory().office.timezone


def _line(s: ThreadSummary, tz: ZoneInfo, now: datetime) -> str:
    owner = s.assignee or s.unit or "-"
    due = "-"
    if s.response_due_at is not None:
        due = office_text(s.response_due_at, tz) + (" " + _("LATE") if s.overdue(now) else "")
    window = _(RULES.get(s.window.rule, s.window.rule))
    if s.window.closes_at is not None:
        window = _("{rule} until {time}").format(
            rule=window, time=office_text(s.window.closes_at, tz)
        )
        if not s.window.is_open(now):
            window += " " + _("closed")
    tags = ",".join(tag_label(t) for t in s.tags) or "-"
    if s.minor:
        tags = _("UNDER-18") + "," + tags
    figures = _("in {incoming:<3} out {outgoing:<3} answer by {due:<22} window {window}").format(
        incoming=s.messages_in, outgoing=s.messages_out, due=due, window=window
    )
    return (
        f"{s.id:>5}  {s.channel:<14} {kind_short(s.kind):<10} {thread_state(s.state):<9} "
        f"{owner:<14} {tags:<18} {figures}"
    )


def run_list(args: argparse.Namespace) -> int:
    """Threads the person may see, those waiting longest first."""
    ctx = Context(args)
    box = _inbox(ctx)
    channels = tuple(ctx.config.directory().expand(args.channel)) if args.channel else ()
    wanted = ThreadFilter(
        states=tuple(args.state),
        channels=channels,
        tag=args.tag,
        assignee=ctx.actor if args.mine else args.assigned_to,
        unit=args.unit,
        waiting=args.waiting,
        overdue=args.overdue,
        limit=args.limit,
    )
    now = utcnow()
    tz = _tz(ctx)
    summaries = box.threads(wanted)
    if args.json:
        print_json([summary_json(s, tz, now) for s in summaries])
        return 0
    if not summaries:
        print(_("no threads"))
    for s in summaries:
        print(_line(s, tz, now))
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Open one thread (the reading is audited)."""
    ctx = Context(args)
    view = _inbox(ctx).thread(args.id)
    tz = _tz(ctx)
    now = utcnow()
    if args.json:
        print_json(thread_json(view, tz, now))
        return 0
    print(_line(view.summary, tz, now))
    citizen = view.citizen_name or _("(name not known)")
    if view.summary.withdrawn:
        citizen = _("(withdrew consent: data deleted)")
    elif view.summary.purged:
        citizen = _("(data deleted after the retention period)")
    print(_("citizen: {name}").format(name=citizen))
    for key, value in view.citizen_info.items():
        print(f"  {key}: {value}")
    for m in view.messages:
        who = _("citizen") if m.direction == "in" else (m.author or _("page/OA (natively)"))
        mode = f" [{m.reply_mode}]" if m.reply_mode and m.reply_mode != "message" else ""
        state = "" if m.state in ("received", "sent") else f" ({m.state}: {m.error_message})"
        text = _("(deleted)") if m.purged else (m.text or "")
        if m.removed:
            what = _(_REMOVED.get(m.removed, m.removed))
            text += f" [{what} {office_text(m.removed_at, tz)}]"
        if m.edits:
            text += " [" + _("edited {time}").format(time=office_text(m.edited_at, tz)) + "]"
        kept = {k.position for k in m.kept}
        extra = "".join(
            f" <{a.get('type', 'file')} {_where(a)}>"
            for i, a in enumerate(m.attachments)
            if i not in kept
        )
        print(f"  #{m.id} {office_text(m.occurred_at, tz)} {who}{mode}{state}: {text}{extra}")
        for old in m.edits:
            before = _("before {time}: {text}")
            print("      " + before.format(time=old.get("at", ""), text=old.get("text", "")))
        for k in m.kept:
            print("      " + _kept_line(k))
    return 0


def _where(item: Mapping[str, Any]) -> str:
    if item.get("restricted"):
        return _("withheld: the citizen is under 18")
    if item.get("latitude"):
        return f"{item.get('latitude')},{item.get('longitude', '')}"
    return str(item.get("url") or item.get("name") or "")


def _kept_line(k: AttachmentView) -> str:
    if k.state == "stored":
        big = k.size >= 100_000
        size = f"{k.size / 1_000_000:.1f} MB" if big else f"{max(1, k.size // 1000)} kB"
        return _("attachment {id}: {kind}, {mime}, {size} ({command})").format(
            id=k.id,
            kind=k.kind,
            mime=k.mime,
            size=size,
            command=f"loa inbox attachment {k.id} --out {k.file_name}",
        )
    return _("attachment {id}: {kind}, not kept ({state}: {problem})").format(
        id=k.id, kind=k.kind, state=k.state, problem=k.problem
    )


def run_attachment(args: argparse.Namespace) -> int:
    """Save a kept attachment to a file readable by its owner only (the reading is audited)."""
    ctx = Context(args)
    view, data = open_attachment(_inbox(ctx), args.id)
    out = Path(args.out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    print(
        ngettext(
            "attachment {id}: {mime}, {n} byte saved to {file}",
            "attachment {id}: {mime}, {n} bytes saved to {file}",
            len(data),
        ).format(id=view.id, mime=view.mime, n=len(data), file=out)
    )
    return 0


def run_reply(args: argparse.Namespace) -> int:
    """Record the reply, send it through the channel's client, settle it."""
    ctx = Context(args)
    box = _inbox(ctx)
    text = sys.stdin.read() if args.text == "-" else args.text
    mode = PRIVATE if args.private else PUBLIC if args.public else None
    summary = answer(box, ctx.config, args.id, text, mode=mode, to=args.to)
    if args.json:
        print_json(summary_json(summary, _tz(ctx), utcnow()))
        return 0
    # A comment is answered publicly unless --private said otherwise (the library's default).
    chosen = mode or (PUBLIC if summary.kind == ThreadKind.COMMENTS else "")
    how = _ANSWERED.get(chosen)
    answered = (
        _("thread {id}: answered {how}").format(id=summary.id, how=_(how))
        if how
        else _("thread {id}: answered").format(id=summary.id)
    )
    print(answered + _("; it is {state}").format(state=thread_state(summary.state)))
    return 0


def _changed(ctx: Context, args: argparse.Namespace, summary: ThreadSummary) -> int:
    if args.json:
        print_json(summary_json(summary, _tz(ctx), utcnow()))
    else:
        print(_line(summary, _tz(ctx), utcnow()))
    return 0


def run_assign(args: argparse.Namespace) -> int:
    """Give a thread to an officer and/or a unit."""
    ctx = Context(args)
    return _changed(ctx, args, _inbox(ctx).assign(args.id, officer=args.to, unit=args.unit))


def run_tag(args: argparse.Namespace) -> int:
    """Add (and remove) tags."""
    ctx = Context(args)
    return _changed(ctx, args, _inbox(ctx).tag(args.id, add=args.tags, remove=args.remove))


def run_close(args: argparse.Namespace) -> int:
    """Close a thread."""
    ctx = Context(args)
    return _changed(ctx, args, _inbox(ctx).close(args.id))


def run_counts(args: argparse.Namespace) -> int:
    """Threads per unit (or channel): by state, waiting, overdue."""
    ctx = Context(args)
    box = _inbox(ctx)
    if args.by == "unit" and box.directory.units:
        return _unit_counts(args, by_unit(box))
    counts = box.counts(by=args.by)
    if args.json:
        print_json({key: value.as_dict() for key, value in counts.items()})
        return 0
    if not counts:
        print(_("no threads"))
    for key, c in counts.items():
        print(f"{key:<16} {_counts(c)}")
    return 0


def _counts(c: Counts) -> str:
    return _(
        "open {open:<4} assigned {assigned:<4} answered {answered:<4} closed {closed:<4} "
        "waiting {waiting:<4} overdue {overdue}"
    ).format(**c.as_dict())


def _unit_counts(args: argparse.Namespace, rows: list[UnitCounts]) -> int:
    """The unit tree, each unit's threads rolled up over the units under it."""
    if args.json:
        print_json({r.unit: r.as_dict() for r in rows})
        return 0
    print(_("threads per unit, each with the units under it (own in brackets when different)"))
    for r in rows:
        c, o = r.total, r.own
        name = ("  " * r.depth + r.unit)[:16]
        line = f"{name:<16} {_counts(c)}"
        if o != c:
            own = _("own: waiting {waiting}, overdue {overdue}")
            line += "  (" + own.format(waiting=o.waiting, overdue=o.overdue) + ")"
        print(line)
    return 0
