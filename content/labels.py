"""States, audit actions, thread kinds and tags as officers read them, in the current language.

One table each for the TUI, the web face and the CLI: a post's, a delivery's and a citizens'
thread's state, an audit row's action, a thread's kind and tags are stored as codes
(``in_review``, ``needs_review``, ``send_back``, ``scam_report``) and shown through these
labels (English msgids, translated by :mod:`content.i18n`).
"""

from __future__ import annotations

from content.i18n import N_, _
from content.listing import ATTENTION
from content.messages import DELIVERY_STATE_WORDS, POST_STATE_WORDS, THREAD_STATE_WORDS
from content.models import ThreadKind

#: The pseudo state of a post whose time has passed while a delivery still waits.
LATE = "late"

#: Post states as officers read them (msgids; translate with ``_()`` at display time): the
#: stored states' words (the same the error messages use) and two shown ones.
POST_STATE_LABELS = {
    **POST_STATE_WORDS,
    # Not a stored state: a scheduled post whose time has passed with a delivery still
    # waiting (see shown_state); "scheduled" there hid a post no daemon had sent.
    LATE: N_("late"),
    # Nor this: a scheduled post past its time whose deliveries failed or must be checked
    # (nothing waits, so it is not late, and it will not go out by itself either).
    ATTENTION: N_("needs attention"),
}

DELIVERY_STATE_LABELS = DELIVERY_STATE_WORDS

#: Audit actions as officers read them.
AUDIT_LABELS = {
    "create": N_("created"),
    "edit": N_("edited"),
    "submit": N_("submitted for review"),
    "approve": N_("approved"),
    "send_back": N_("sent back"),
    "schedule": N_("scheduled"),
    "reschedule": N_("rescheduled"),
    "cancel": N_("cancelled"),
    "return_to_review": N_("back to review after an edit"),
    "done": N_("finished"),
    "retry": N_("sent again by hand"),
    "mark_published": N_("marked published by hand"),
    "mark_not_published": N_("checked: not published, sent again"),
}

#: A citizens' thread's kind in a word (a table column; the thread view says it in full).
KIND_SHORT = {
    ThreadKind.ZALO_CHAT.value: N_("Zalo"),
    ThreadKind.MESSENGER.value: N_("Messenger"),
    ThreadKind.COMMENTS.value: N_("Comments"),
}
#: The inbox's tags as officers name them (content.inbox.TAGS).
TAG_LABELS = {
    "tip": N_("Tip"),
    "scam_report": N_("Scam report"),
    "question": N_("Question"),
    "complaint": N_("Complaint"),
    "spam": N_("Spam"),
}


def post_state(state: str) -> str:
    """A post state in the current language."""
    return _(POST_STATE_LABELS.get(state, state))


def delivery_state(state: str) -> str:
    """A delivery state in the current language."""
    return _(DELIVERY_STATE_LABELS.get(state, state))


def audit_action(action: str) -> str:
    """An audit row's action in the current language (the code itself when unknown)."""
    return _(AUDIT_LABELS.get(action, action))


def thread_state(state: str) -> str:
    """A citizens' thread's state in the current language."""
    return _(THREAD_STATE_WORDS.get(state, state))


def kind_short(kind: str) -> str:
    """A thread's kind in a word."""
    return _(KIND_SHORT.get(kind, kind))


def tag_label(tag: str) -> str:
    """An inbox tag in the current language."""
    return _(TAG_LABELS.get(tag, tag))


def tags_text(tags: tuple[str, ...] | list[str]) -> str:
    """The tags, comma separated ("-" for none)."""
    return ", ".join(tag_label(t) for t in tags) or "-"
