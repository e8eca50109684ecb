"""How the inbox's values look: the two clocks as time left, thread states, kinds and tags.

Two clocks run on every thread (:mod:`content.inbox`): the office's own target for answering
and the platform's reply window. Both are shown as the time left, in words short enough for
an 80-column table, coloured when a quarter or less is left and when it has run out; the
colour is only a hint, the words ("late", "closed") carry the meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text

from content.inbox import (
    HUMAN_AGENT_WINDOW,
    MESSENGER_WINDOW,
    PRIVATE_REPLY_WINDOW,
    ZALO_WINDOW,
    ReplyWindow,
    ThreadSummary,
)
from content.inbox_media import AttachmentView
from content.labels import (  # noqa: F401  (the screens know the labels from here too)
    KIND_SHORT,
    TAG_LABELS,
    kind_short,
    tag_label,
    tags_text,
    thread_state,
)
from content.messages import REPLY_RULE_WORDS, THREAD_KIND_WORDS
from content.models import ThreadKind
from content.ui.i18n import N_, _, language

#: The open thread asks for work, so it stands out; a closed one fades.
STATE_STYLES = {"open": "bold", "assigned": "cyan", "answered": "green", "closed": "dim"}
#: How long each platform rule's window lasts (for "a quarter left").
WINDOW_LENGTHS = {
    "zalo_7d": ZALO_WINDOW,
    "messenger_24h": MESSENGER_WINDOW,
    "messenger_human_agent_7d": HUMAN_AGENT_WINDOW,
    "private_reply_7d": PRIVATE_REPLY_WINDOW,
}
#: Colour a clock once this share of its span or less is left.
WARN_SHARE = 4
LATE_STYLE = "bold red"
WARN_STYLE = "bold yellow"


def short_when(value: datetime, tz: ZoneInfo) -> str:
    """A time in the coming or past days, without the year: ``30/11 08:50`` (vi)."""
    return value.astimezone(tz).strftime("%d/%m %H:%M" if language() == "vi" else "%m-%d %H:%M")


def platform_of(kind: str) -> str:
    """The platform a thread's kind lives on, as the office names it."""
    return "Zalo" if kind == ThreadKind.ZALO_CHAT.value else "Facebook"


def kind_long(kind: str) -> str:
    """A thread's kind as a phrase ("a Zalo chat")."""
    return _(THREAD_KIND_WORDS.get(kind, kind))


def rule_words(rule: str) -> str:
    """What the platform allows under ``rule``, in a sentence."""
    # The Human Agent rule is said in the Messenger sentence (24 hours, 7 with the feature).
    key = "messenger_24h" if rule == "messenger_human_agent_7d" else rule
    return _(REPLY_RULE_WORDS.get(key, REPLY_RULE_WORDS["window"]))


def span(delta: timedelta) -> str:
    """A length of time in a few characters: ``6 days``, ``1d 4h``, ``3h20``, ``12 min``.

    Rounded down: "3h20" left means at least that long, never less.
    """
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return _("{d} days").format(d=days)
    if days == 1:
        return _("1d {h}h").format(h=hours)
    if hours:
        return _("{h}h{m:02d}").format(h=hours, m=mins)
    return _("{m} min").format(m=mins)


def late(delta: timedelta) -> str:
    """How late: whole days once it is a day or more, so the cell stays short."""
    if delta >= timedelta(days=1):
        return _("{d}d late").format(d=delta.days)
    return _("{span} late").format(span=span(delta))


def _left(delta: timedelta, said: bool) -> str:
    """``3h20``, or ``3h20 left`` where the time stands alone in a sentence."""
    return _("{span} left").format(span=span(delta)) if said else span(delta)


def target_clock(
    summary: ThreadSummary, now: datetime, target: timedelta, *, said: bool = False
) -> Text:
    """The office's clock: time left to answer the waiting citizen, or how late it is.

    ``said``: the time left is written as such ("3h20 left"), outside a table's column.
    """
    due = summary.response_due_at
    if due is None:
        return Text("-", "dim")
    left = due - now
    if left <= timedelta(0):
        return Text(late(-left), LATE_STYLE)
    return Text(_left(left, said), WARN_STYLE if left * WARN_SHARE <= target else "")


def window_closed(window: ReplyWindow, kind: str, now: datetime) -> bool:
    """Whether the platform would refuse a message now (comments: a private reply)."""
    if window.rule == "none":
        return True
    if kind == ThreadKind.COMMENTS.value and window.private_used:
        return True
    return not window.is_open(now)


def window_clock(summary: ThreadSummary, now: datetime, *, said: bool = False) -> Text:
    """The platform's clock: time left in its reply window, or that it has closed.

    A comment can always be answered publicly: once its private reply is no longer possible
    the cell says "public only" rather than "closed".
    """
    window = summary.window
    if window.rule == "none":
        return Text("-", "dim")
    comments = summary.kind == ThreadKind.COMMENTS.value
    if window_closed(window, summary.kind, now):
        # "expired", not "closed": the thread's own state may be "closed" beside it.
        return Text(_("public only"), "dim") if comments else Text(_("expired"), LATE_STYLE)
    if window.closes_at is None:
        return Text("-", "dim")
    left = window.closes_at - now
    length = WINDOW_LENGTHS.get(window.rule, ZALO_WINDOW)
    return Text(_left(left, said), WARN_STYLE if left * WARN_SHARE <= length else "")


#: A citizen's attachment by its platform type, in the thread view.
ATTACHMENT_KINDS = {
    "image": N_("Image"),
    "gif": N_("GIF"),
    "file": N_("File"),
    "audio": N_("Voice"),
    "video": N_("Video"),
    "sticker": N_("Sticker"),
    "link": N_("Link"),
    "location": N_("Location"),
}
#: Why an attachment was not kept (content.inbox_media states).
NOT_KEPT = {
    "expired": N_("not kept: the platform's link had expired"),
    "refused": N_("not kept: too large or not an accepted type"),
    "failed": N_("not downloaded yet"),
    "purged": N_("deleted"),
}


def attachment_line(item: Mapping[str, Any], kept: AttachmentView | None) -> Text:
    """One attachment under its message: kept (size, and the command that saves it), not kept
    (why), or only described by the platform (a sticker, a link, a place)."""
    kind = str(item.get("type") or "file")
    label = _(ATTACHMENT_KINDS[kind]) if kind in ATTACHMENT_KINDS else kind
    text = Text("\n")
    if kept is None:
        where = item.get("url") or item.get("name") or ""
        if item.get("latitude"):
            where = f"{item.get('latitude')}, {item.get('longitude', '')}"
        if item.get("restricted"):
            where = _("withheld: the citizen is under 18")
        text.append(f"[{label}] {where}".rstrip(), "cyan")
        return text
    if kept.state == "stored":
        big = kept.size >= 100_000
        size = f"{kept.size / 1_000_000:.1f} MB" if big else f"{max(1, kept.size // 1000)} kB"
        text.append(f"[{label}] " + _("kept") + f", {size} · ", "cyan")
        text.append(f"loa inbox attachment {kept.id} --out …", "dim")
        return text
    reason = NOT_KEPT.get(kept.state)
    text.append(f"[{label}] " + (_(reason) if reason else kept.state), "yellow")
    return text
