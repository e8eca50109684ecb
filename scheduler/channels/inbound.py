"""What the platform modules hand the webhook receiver and the reply path, platform-neutral.

Each platform's webhook quirks (signatures, envelopes, which events matter) live in its own
module (:mod:`scheduler.channels.zalo_inbox`, :mod:`scheduler.channels.facebook_inbox`); the
receiver only sees a :class:`Verdict` and stores its :class:`WebhookItem`\\ s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.channels.base import ContentError

#: Why a platform refused a reply (see :class:`ReplyRejected`).
WINDOW_CLOSED = "window_closed"
PRIVATE_USED = "private_used"
UNAVAILABLE = "unavailable"
REFUSED = "refused"


@dataclass(frozen=True)
class WebhookItem:
    """One event of a verified delivery, to store before answering."""

    channel: str
    #: The platform's own id of the event (a message id, a comment id...); the receiver
    #: stores only a keyed hash of it, so a retried delivery is recognised.
    event_id: str
    occurred_at: datetime | None
    #: The event as received (JSON bytes), sealed before it is stored.
    payload: bytes


@dataclass(frozen=True)
class Verdict:
    """The receiver's answer to one delivery: an HTTP status, why (for the log: never a
    citizen's data), and the events to store when it is 200."""

    status: int
    reason: str
    items: tuple[WebhookItem, ...] = ()


class ReplyRejected(ContentError):
    """The platform refused a reply to a citizen; ``reason`` says which way (one of
    :data:`WINDOW_CLOSED`, :data:`PRIVATE_USED`, :data:`UNAVAILABLE`, :data:`REFUSED`),
    ``code``/``subcode``/``message`` are the platform's own."""

    def __init__(self, reason: str, message: str, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.reason = reason
