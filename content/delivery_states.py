"""A delivery's states and the one table of moves between them.

A delivery (one post on one channel) is moved by the queue (a person cancels, retries or
settles it) and by the dispatcher (it claims, publishes, waits or fails it). Both go
through :func:`move`, or, for a conditional SQL UPDATE, take their ``WHERE state`` from
:func:`sources`, so what may follow what is written down once, here.

    pending --claim--> sending --publish--> published
       |                  |------wait-----> pending   (retry later, a step in progress,
       |                  |                            a paused channel, a lost daemon)
       |                  |------fail-----> failed --retry--> pending
       |                  '------review---> needs_review --mark_published--> published
       '--cancel--> cancelled                           '--mark_not_published--> pending
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from content.errors import StateError
from content.models import DeliveryState

#: Events that move a delivery.
CLAIM = "claim"  # a daemon takes it, before calling the platform
CANCEL = "cancel"  # its post is cancelled before it was claimed
PUBLISH = "publish"  # the platform has it
WAIT = "wait"  # to be tried again later (transient error, step in progress, paused channel,
# a claim given back, a dead daemon's claim taken back)
FAIL = "fail"  # refused, or transient errors until the attempts ran out
REVIEW = "review"  # the platform may have it and Loa cannot tell: a person looks
RETRY = "retry"  # a person sends a failed delivery again
MARK_PUBLISHED = "mark_published"  # a person found it on the Page/OA
MARK_NOT_PUBLISHED = "mark_not_published"  # a person did not: send it again

P, S = DeliveryState.PENDING, DeliveryState.SENDING

#: (state, event) -> the state it leads to. Anything not here is refused.
TRANSITIONS: Mapping[tuple[DeliveryState, str], DeliveryState] = {
    (P, CLAIM): S,
    (P, CANCEL): DeliveryState.CANCELLED,
    (S, PUBLISH): DeliveryState.PUBLISHED,
    (S, WAIT): P,
    (S, FAIL): DeliveryState.FAILED,
    (S, REVIEW): DeliveryState.NEEDS_REVIEW,
    (DeliveryState.FAILED, RETRY): P,
    (DeliveryState.NEEDS_REVIEW, MARK_PUBLISHED): DeliveryState.PUBLISHED,
    (DeliveryState.NEEDS_REVIEW, MARK_NOT_PUBLISHED): P,
}


class HasState(Protocol):
    """A delivery as an ORM object or as plain columns (the dispatcher's rows)."""

    @property
    def id(self) -> int | None:
        """The delivery's id (named in the refusal)."""
        ...

    state: str


def move(delivery: HasState, event: str) -> DeliveryState:
    """Move ``delivery`` by ``event`` (its ``state`` attribute only; the caller writes it).

    Raises :class:`StateError` ``delivery_transition`` when the table has no such move: a
    bug in the caller, said rather than written.
    """
    target = TRANSITIONS.get((DeliveryState(delivery.state), event))
    if target is None:
        raise StateError("delivery_transition", id=delivery.id, dstate=delivery.state, event=event)
    delivery.state = target
    return target


def sources(event: str) -> tuple[DeliveryState, ...]:
    """The states ``event`` moves a delivery from (a conditional UPDATE's ``WHERE state``)."""
    return tuple(state for state, on in TRANSITIONS if on == event)


def target(event: str) -> DeliveryState:
    """The one state ``event`` leads to (every event in the table leads to one state)."""
    (state,) = {to for (_, on), to in TRANSITIONS.items() if on == event}
    return state
