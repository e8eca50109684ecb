"""The arguments of `loa post ...`: one function per subcommand, each returning its parser.

:func:`scheduler.cli.posts.register` adds them and says which handler runs each one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from content.models import PostState
from content.times import TIME_FORMATS

#: What --at takes, for the help.
AT_HELP = f'office time: "{TIME_FORMATS}", ISO 8601, or "next" (the next free posting slot)'


def post_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> dict[str, argparse.ArgumentParser]:
    """Every ``post`` subcommand's parser by name, added to ``sub`` in the help's order."""
    parsers: dict[str, argparse.ArgumentParser] = {}
    parsers["add"] = _add_command(sub, parent)
    parsers["list"] = _list_command(sub, parent)
    parsers["show"] = _show_command(sub, parent)
    parsers["submit"] = _submit_command(sub, parent)
    parsers["edit"] = _edit_command(sub, parent)
    parsers.update(_each_command(sub, parent))
    parsers["send-back"] = _send_back_command(sub, parent)
    parsers["retry"] = _retry_command(sub, parent)
    parsers["resolve"] = _resolve_command(sub, parent)
    parsers["export"] = _export_command(sub, parent)
    parsers["import"] = _import_command(sub, parent)
    return parsers


def _add_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
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
    return add


def _list_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
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
    return ls


def _show_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """``loa post show``: one post."""
    show = sub.add_parser("show", parents=[parent], help="one post, its deliveries and history")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    return show


def _submit_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """``loa post submit``: send a draft for review."""
    submit = sub.add_parser("submit", parents=[parent], help="send a draft for review")
    submit.add_argument("id", type=int)
    submit.add_argument("--json", action="store_true", help="machine-readable output")
    return submit


def _edit_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
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
    return edit


def _each_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> dict[str, argparse.ArgumentParser]:
    """``loa post approve|cancel|reschedule``: one or many posts, each changed on its own."""
    parsers: dict[str, argparse.ArgumentParser] = {}
    for name, helptext in (
        ("approve", "approve posts in review"),
        ("cancel", "cancel posts"),
        ("reschedule", "give posts a new time"),
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
        parsers[name] = cmd
    return parsers


def _send_back_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """``loa post send-back``: return a post to its author."""
    back = sub.add_parser("send-back", parents=[parent], help="return a post to its author")
    back.add_argument("id", type=int)
    back.add_argument("--comment", required=True)
    back.add_argument("--json", action="store_true", help="machine-readable output")
    return back


def _retry_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """``loa post retry``: send a failed delivery again."""
    retry = sub.add_parser("retry", parents=[parent], help="send a failed delivery again now")
    retry.add_argument("delivery", type=int, metavar="DELIVERY_ID")
    retry.add_argument("--json", action="store_true", help="machine-readable output")
    return retry


def _resolve_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
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
    return resolve


def _export_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
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
    return export


def _import_command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parent: argparse.ArgumentParser
) -> argparse.ArgumentParser:
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
    return imp
