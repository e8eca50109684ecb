"""The queue's rules of a post's life: what may follow what, and the audit of each change.

Life of a post::

    draft -> in_review -> approved (no time yet) -> scheduled -> done
                 ^  |          \\________________/        |
                 |  v (sent back)                          v
               draft                                   cancelled (from any live state)

These are the queue's (:class:`content.queue.Queue` calls them; nothing else changes a
post's state). A change works on a post's attributes and leaves the writing to the caller,
so the same rule serves ORM objects and the dispatcher's plain rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from content import audit as audit_log
from content.accounts import Access
from content.errors import StateError
from content.models import SETTLED_DELIVERY_STATES, Delivery, DeliveryState, Post, PostState

#: A post still on its way (not done, not cancelled): it may be edited, moved or cancelled.
LIVE_STATES = (PostState.DRAFT, PostState.IN_REVIEW, PostState.APPROVED, PostState.SCHEDULED)
EDITABLE_STATES = LIVE_STATES

#: A post's state -> the states it may move to. Anything not here is refused.
TRANSITIONS: dict[PostState, tuple[PostState, ...]] = {
    PostState.DRAFT: (PostState.IN_REVIEW, PostState.CANCELLED),
    PostState.IN_REVIEW: (
        PostState.DRAFT,
        PostState.APPROVED,
        PostState.SCHEDULED,
        PostState.CANCELLED,
    ),
    PostState.APPROVED: (PostState.SCHEDULED, PostState.IN_REVIEW, PostState.CANCELLED),
    PostState.SCHEDULED: (PostState.DONE, PostState.IN_REVIEW, PostState.CANCELLED),
    # A failed delivery retried by hand reopens its post.
    PostState.DONE: (PostState.SCHEDULED,),
    PostState.CANCELLED: (),
}


def move_post(
    access: Access,
    post: Any,
    target: PostState,
    action: str,
    now: datetime,
    deliveries: Sequence[Any],
    *,
    detail: str | None = None,
    audit: list[dict[str, Any]] | None = None,
) -> None:
    """The one place a post's state changes: check the rule, change it, audit it (as done
    by ``access``).

    ``post`` is a Post or a plain row with its columns (the dispatcher's); the caller
    writes it. ``audit``: collect the audit row there instead of writing it.
    """
    before = snapshot(post, deliveries)
    set_state(post, target, now)
    after = snapshot(post, deliveries)
    write_audit(None, access, action, post, before, after, now, detail=detail, into=audit)


def set_state(post: Any, target: PostState, now: datetime) -> None:
    """Change ``post``'s state if :data:`TRANSITIONS` allows it, else raise ``StateError``.

    Without an audit row of its own: for a move that is part of another audited change (a
    schedule arms an approved post; a retried or re-sent delivery opens a done post again),
    whose row's before/after shows the state too. :func:`move_post` is the audited move.
    """
    if target not in TRANSITIONS.get(PostState(post.state), ()):
        raise StateError("transition", id=post.id, state=post.state, target=target)
    post.state = target
    post.updated_at = now


def settling(
    access: Access,
    loaded: Iterable[tuple[Any, Sequence[Any]]],
    now: datetime,
    audit: list[dict[str, Any]],
) -> Iterable[Any]:
    """The rule of settling: a scheduled post whose deliveries are all settled is done.
    Moves each such post (attributes only) and yields it for the caller to write."""
    for post, deliveries in loaded:
        if post.state == PostState.SCHEDULED and all(
            d.state in SETTLED_DELIVERY_STATES for d in deliveries
        ):
            move_post(access, post, PostState.DONE, "done", now, deliveries, audit=audit)
            yield post


def arm_deliveries(session: Session, post: Post, now: datetime) -> None:
    """Make the post's waiting deliveries due at its time (the dispatcher claims them then)."""
    session.execute(
        update(Delivery)
        .where(col(Delivery.post_id) == post.id)
        .where(col(Delivery.state) == DeliveryState.PENDING)
        .values(next_attempt_at=post.scheduled_at, updated_at=now)
    )


def disarm_deliveries(session: Session, post: Post, now: datetime) -> None:
    """Take the due time off the post's waiting deliveries (back to draft or review)."""
    session.execute(
        update(Delivery)
        .where(col(Delivery.post_id) == post.id)
        .where(col(Delivery.state) == DeliveryState.PENDING)
        .values(next_attempt_at=None, updated_at=now)
    )


def snapshot(post: Post, deliveries: Sequence[Delivery]) -> dict[str, Any]:
    """The audit view of a post: enough to see what changed, without image bytes."""
    return {
        "state": str(post.state),
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
        "content": {
            "title": post.title,
            "text": post.text,
            "link": post.link,
            "images": list(post.image_ids),
            "campaign": post.campaign,
            "tags": list(post.tags),
        },
        "channels": {d.channel: str(d.state) for d in deliveries},
    }


def write_audit(
    session: Session | None,
    access: Access,
    action: str,
    post: Post,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
    *,
    detail: str | None = None,
    into: list[dict[str, Any]] | None = None,
) -> None:
    """Write one audit row, or add it to ``into`` for the caller to write with others."""
    row = dict(
        at=now,
        actor=access.actor,
        action=action,
        post_id=post.id,
        before=before,
        after=after,
        detail=detail,
        **access.audit_fields(),
    )
    if into is None:
        assert session is not None
        audit_log.write(session, [row])
    else:
        into.append(row)
