"""One thread of the citizens' inbox: who the citizen is, the two clocks, every message in
and out, and answering it. Opening it reads the citizen's words and is audited by the
library, so it is read when it opens and after a change, never on a timer (the list is
content.ui.inbox).
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Header, Static

from content.errors import LoaError
from content.inbox import PRIVATE, MessageView, ThreadSummary, ThreadView
from content.messages import CATALOGUE, message
from content.ui.base import ActionFinished, report_error
from content.ui.fmt import when
from content.ui.i18n import N_, _
from content.ui.inbox import InboxBase, response_target
from content.ui.inbox_dialogs import ReplyDialog
from content.ui.inbox_fmt import (
    STATE_STYLES,
    attachment_line,
    kind_long,
    platform_of,
    short_when,
    tags_text,
    target_clock,
    thread_state,
    window_clock,
)

#: The rule a private reply to a comment is held to (content.inbox.reply_window).
PRIVATE_RULE = "private_reply_7d"
#: What the citizen's details are called (Zalo's info form); others are shown as named.
INFO_LABELS = {"name": N_("Name"), "phone": N_("Phone"), "address": N_("Address")}


class ThreadLoaded(Message):
    """A thread has been opened (``error``: it could not be)."""

    def __init__(self, view: ThreadView | None, error: LoaError | None = None) -> None:
        super().__init__()
        self.view = view
        self.error = error


class ThreadScreen(InboxBase):
    """One thread: who the citizen is, the two clocks, every message in and out."""

    HELP_TEXT = N_(
        "One citizen's conversation with the office on one channel: his messages and the "
        "office's answers, oldest first, with the two clocks above (the office's target and "
        "the platform's reply window). Press R to answer: the reply goes out on the same "
        "platform, and the dialog says how long it may be and until when the platform takes "
        "it. A to assign the thread, T to tag it, C to close it. Opening a thread is recorded "
        "(who read which tip), so it is read again only when you press F5."
    )

    BINDINGS = [
        Binding("r", "reply", "Reply"),
        Binding("a", "assign", "Assign"),
        Binding("t", "tag", "Tags"),
        Binding("c", "close_thread", "Close"),
        Binding("escape", "back", "Back"),
        Binding("f5", "refresh", "Refresh", show=False),
    ]

    def __init__(self, thread_id: int, *, reply: bool = False) -> None:
        super().__init__()
        self.thread_id = thread_id
        #: Open the reply dialog as soon as the thread is read (R on the list).
        self.reply_first = reply
        self.view: ThreadView | None = None
        self.title = _("Thread {id}").format(id=thread_id)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(_("Reading…"), id="thread-summary")
        with VerticalScroll(id="thread-messages"):
            yield Static("", id="thread-text")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Open the thread again (audited, like every opening)."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        try:
            view = self.ctx.inbox().thread(self.thread_id)
        except LoaError as exc:
            # Not found, not his unit's, no key: said once, then back to the list.
            self.post_message(ThreadLoaded(None, exc))
            return
        except Exception as exc:  # the database is away: said like every failed read
            self.read(partial(_raise, exc))
            return
        self.post_message(ThreadLoaded(view))

    def on_thread_loaded(self, message: ThreadLoaded) -> None:
        if message.error is not None or message.view is None:
            if message.error is not None:
                report_error(self, message.error)
            self.app.pop_screen()
            return
        self.view = message.view
        self._show(message.view)
        if self.reply_first:
            self.reply_first = False
            self.action_reply()

    def _show(self, view: ThreadView) -> None:
        self.query_one("#thread-summary", Static).update(self._summary_text(view))
        self.query_one("#thread-text", Static).update(self._messages_text(view))
        self.query_one("#thread-messages", VerticalScroll).scroll_end(animate=False)

    def _summary_text(self, view: ThreadView) -> Text:
        s = view.summary
        tz = self.ctx.tz
        now = self.ctx.clock()
        channel = self.ctx.directory.channels.get(s.channel)
        text = Text()
        text.append(f"{kind_long(s.kind)} · {channel.name if channel else s.channel} · ")
        text.append(thread_state(s.state), STATE_STYLES.get(s.state, ""))
        if s.minor:
            text.append(" · ")
            text.append(_("under 18"), "bold red")
        text.append("\n" + _("Citizen") + ": ")
        if s.withdrawn:
            text.append(_("withdrew his consent; his data was deleted"), "dim")
        elif s.purged:
            text.append(_("data deleted after the retention period"), "dim")
        else:
            text.append(view.citizen_name or _("name not known"), "bold")
            for key, value in view.citizen_info.items():
                if key != "name":
                    label = INFO_LABELS.get(key)
                    text.append(f" · {_(label) if label else key}: {value}")
        text.append("\n" + _("Target") + ": ")
        text.append(target_clock(s, now, response_target(self.ctx), said=True))
        if s.response_due_at is not None:
            text.append(f" ({short_when(s.response_due_at, tz)})")
        text.append(" · " + _("{platform} window").format(platform=platform_of(s.kind)) + ": ")
        text.append(window_clock(s, now, said=True))
        if s.window.closes_at is not None:
            text.append(f" ({short_when(s.window.closes_at, tz)})")
        owner = " · ".join(p for p in (s.assignee, s.unit) if p) or "-"
        text.append(
            "\n" + _("Assigned to") + f": {owner} · " + _("Tags") + f": {tags_text(s.tags)}"
        )
        return text

    def _messages_text(self, view: ThreadView) -> Text:
        tz = self.ctx.tz
        text = Text()
        if not view.messages:
            text.append(_("No messages."), "dim")
        for i, m in enumerate(view.messages):
            if i:
                text.append("\n\n")
            text.append(when(m.occurred_at, tz) + "  ", "dim")
            text.append_text(_author(m))
            text.append("\n")
            if m.purged:
                text.append(_("(deleted)"), "dim")
            else:
                text.append(m.text or "")
                if m.edits:
                    text.append("  " + _("(edited)"), "dim")
                if m.removed:
                    said = (
                        _("removed on Facebook")
                        if m.removed == "remove"
                        else _("hidden on Facebook")
                    )
                    text.append(f"  ({said})", "yellow")
                for old in m.edits:
                    text.append("\n" + _("Before") + f": {old.get('text', '')}", "dim")
                kept = {k.position: k for k in m.kept}
                for position, a in enumerate(m.attachments):
                    text.append_text(attachment_line(a, kept.get(position)))
            if m.state in ("refused", "failed", "unknown") and (m.error_code or m.error_message):
                text.append("\n" + _reason(m, view.summary), "red")
        return text

    # ------------------------------------------------------------------ actions

    def action_reply(self) -> None:
        """Answer the citizen on his platform (its limits and window are shown)."""
        if self.view is None:
            return
        summary = self.view.summary
        ctx = self.ctx
        wiring = ctx.inbox_wiring

        def send(text: str, mode: str | None) -> ThreadSummary:
            assert wiring is not None  # a thread was read, so the inbox is wired
            return wiring.send_reply(ctx.inbox(), summary.id, text, mode, None)

        dialog = ReplyDialog(summary, send, ctx.clock(), ctx.tz)

        def closed(done: ThreadSummary | None) -> None:
            if done is not None:
                self.thread_done("reply", done)
            elif dialog.tried:
                self.reload()  # a reply the platform refused is kept in the thread: show it

        self.app.push_screen(dialog, closed)

    def action_assign(self) -> None:
        """Give the thread to an officer or unit."""
        if self.view is not None:
            self.assign_thread(self.view.summary)

    def action_tag(self) -> None:
        """Tag the thread."""
        if self.view is not None:
            self.tag_thread(self.view.summary)

    def action_close_thread(self) -> None:
        """Close the thread."""
        if self.view is not None:
            self.close_thread(self.view.summary)

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is not None:
            report_error(self, message.error)
            return
        self.thread_done(message.what, message.result)

    def action_back(self) -> None:
        """Back to the list."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read the thread again (recorded as another opening)."""
        self.reload()


def _author(m: MessageView) -> Text:
    """Who wrote ``m``, and how it went out (a reply refused or of unknown fate says so)."""
    if m.direction == "in":
        return Text(_("Citizen") + ":", "bold cyan")
    who = m.author or _("the Page/OA (on the platform)")
    text = Text(who, "bold green")
    if m.reply_mode == "private":
        text.append(" [" + _("private reply") + "]")
    elif m.reply_mode == "public":
        text.append(" [" + _("public reply") + "]")
    if m.state == "refused":
        text.append(" · " + _("refused by the platform"), "bold red")
    elif m.state == "failed":
        text.append(" · " + _("not sent"), "bold red")
    elif m.state in ("unknown", "sending"):
        text.append(" · " + _("not confirmed by the platform"), "bold yellow")
    text.append(":")
    return text


def _reason(m: MessageView, summary: ThreadSummary) -> str:
    """Why a reply did not go out, in the officer's language where the refusal's code is
    known (the platform's own code and words stay as it said them)."""
    code = m.error_code or ""
    if code in CATALOGUE:
        rule = PRIVATE_RULE if m.reply_mode == PRIVATE else summary.window.rule
        params = {
            "platform": platform_of(summary.kind),
            "thread": summary.id,
            "said": m.error_message or "",
            "rule": rule,
        }
        return message(code, params)
    return " ".join(p for p in (f"[{code}]" if code else "", m.error_message or "") if p)


def _raise(exc: Exception) -> None:
    raise exc
