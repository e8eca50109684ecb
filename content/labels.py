"""States and audit actions as officers read them, in the current language.

One table each for the TUI, the web face and the CLI: a post's, a delivery's state and an
audit row's action are stored as codes (``in_review``, ``needs_review``, ``send_back``) and
shown through these labels (English msgids, translated by :mod:`content.i18n`).
"""

from __future__ import annotations

from content.i18n import N_, _
from content.listing import ATTENTION
from content.messages import DELIVERY_STATE_WORDS, POST_STATE_WORDS

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


def post_state(state: str) -> str:
    """A post state in the current language."""
    return _(POST_STATE_LABELS.get(state, state))


def delivery_state(state: str) -> str:
    """A delivery state in the current language."""
    return _(DELIVERY_STATE_LABELS.get(state, state))


def audit_action(action: str) -> str:
    """An audit row's action in the current language (the code itself when unknown)."""
    label = AUDIT_LABELS.get(action)
    return _(label) if label is not None else action
