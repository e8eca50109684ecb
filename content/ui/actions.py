"""Changes to one post that several screens offer: each asks what it must, then runs the
queue rule in a worker (the screen's ``run_change``) and reports through ActionFinished."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from content.errors import ValidationError
from content.times import parse_when
from content.ui.dialogs import ConfirmDialog, PromptDialog
from content.ui.fmt import NOW_WORDS, time_placeholder
from content.ui.i18n import N_, _
from content.ui.messages import error_in_words, in_words


def approve(screen: Any, post_id: int) -> None:
    """Approve a post in review (the queue may refuse self-approval)."""
    screen.run_change("approve", lambda: screen.ctx.queue().approve(post_id))


def submit(screen: Any, post_id: int) -> None:
    """Send a draft for review."""
    screen.run_change("submit", lambda: screen.ctx.queue().submit(post_id))


def send_back(screen: Any, post_id: int) -> None:
    """Ask for a comment, then return the post to its author as a draft."""

    def check(value: str) -> str | None:
        return None if value.strip() else _("Say what should change.")

    def answer(comment: str | None) -> None:
        if comment:
            screen.run_change("send_back", lambda: screen.ctx.queue().send_back(post_id, comment))

    screen.app.push_screen(
        PromptDialog(
            _("Send post {id} back to its author").format(id=post_id),
            _("What should change?"),
            ok_label=_("Send back"),
            check=check,
        ),
        answer,
    )


def cancel(screen: Any, post_id: int) -> None:
    """Confirm, ask for an optional reason, then cancel the post's waiting deliveries."""

    def answer(reason: str | None) -> None:
        if reason is None:
            return
        screen.run_change(
            "cancel", lambda: screen.ctx.queue().cancel(post_id, reason.strip() or None)
        )

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.app.push_screen(
                PromptDialog(
                    _("Cancel post {id}").format(id=post_id),
                    _("Reason (optional, kept in the history):"),
                    ok_label=_("Cancel the post"),
                ),
                answer,
            )

    screen.app.push_screen(
        ConfirmDialog(
            _("Cancel post {id}?").format(id=post_id),
            _(
                "Channels that have not published it yet will not. What is already "
                "published stays online. This cannot be undone."
            ),
            _("Yes, cancel it"),
        ),
        confirmed,
    )


def time_check(
    parse: Callable[[str], object], words: Collection[str] = ()
) -> Callable[[str], str | None]:
    """A time prompt's check (:class:`PromptDialog`'s ``check``): None when the typed value
    is one of ``words`` (lower case) or ``parse`` takes it, else ``parse``'s refusal in the
    officer's words, which the dialog shows while it stays open.

    ``parse`` is the CLI's parser (content.times.parse_when) bound to the screen's zone and
    clock, so a prompt accepts the same forms and refuses the same times as ``loa``.
    """

    def check(value: str) -> str | None:
        if value.strip().lower() in words:
            return None
        try:
            parse(value)
        except ValidationError as exc:
            return error_in_words(exc)
        return None

    return check


def reschedule(screen: Any, post_id: int, current: str = "") -> None:
    """Ask for a new time (office time) and move the post there."""
    tz = screen.ctx.tz
    check = time_check(lambda value: parse_when(value, tz, now=screen.ctx.clock()), NOW_WORDS)

    def answer(value: str | None) -> None:
        if value is None:
            return
        now = screen.ctx.clock()
        at = now if value.strip().lower() in NOW_WORDS else parse_when(value, tz, now=now)
        screen.run_change("schedule", lambda: screen.ctx.queue().schedule(post_id, at))

    screen.app.push_screen(
        PromptDialog(
            _("New time for post {id}").format(id=post_id),
            _('Office time ({zone}), {format}, or "now":').format(
                zone=tz.key, format=time_placeholder()
            ),
            ok_label=_("Reschedule"),
            value=current,
            placeholder=time_placeholder(),
            check=check,
        ),
        answer,
    )


#: What to tell the officer after each change succeeded.
DONE_TEXT = {
    "approve": N_("Post {id} approved."),
    "submit": N_("Post {id} sent for review."),
    "send_back": N_("Post {id} sent back to its author."),
    "cancel": N_("Post {id} cancelled."),
    "schedule": N_("Post {id} has a new time."),
}


def report_done(screen: Any, what: str, outcome: Any) -> None:
    """Notify success and any warnings from the queue rules."""
    post = outcome.post
    text = DONE_TEXT.get(what)
    if text:
        screen.notify(_(text).format(id=post.id), title=_("Done"))
    for warning in outcome.warnings:
        screen.notify(
            in_words(warning), title=_("Worth a second look"), severity="warning", timeout=15
        )
