"""What the dispatcher writes when a call ends: the delivery's rows and the outcome rules.

The rules (:func:`apply_outcome`), in the order they protect the user:

- An attempt whose outcome is unknown (timeout after sending, 5xx, a crash while
  ``sending``) is marked ``uncertain``; the next attempt first asks the channel whether
  the post is already there and only re-sends when it surely is not. An uncertain post
  that runs out of attempts needs a person (``needs_review``), never ``failed``.
- Transient errors retry with exponential backoff and jitter up to a limit; auth errors
  pause the channel (its deliveries wait, :func:`resume_channel` lifts the pause); content
  errors fail that delivery alone.

Every move of a delivery's state goes through :mod:`content.delivery_states`. The rows are
plain columns (:class:`DeliveryRow`, :class:`content.queue.PostRow`): building SQLModel
objects was most of a burst's recording. The orchestration (grouping results into one
transaction, holding them through a database outage, settling the posts) is the
dispatcher's (:class:`scheduler.dispatch.Dispatcher`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import Engine, bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from content.db import session_scope
from content.delivery_states import FAIL, PUBLISH, REVIEW, WAIT, move
from content.models import Alert, ChannelState, Delivery, Post
from content.queue_read import PostRow
from content.times import utcnow
from scheduler.channels.base import (
    AuthError,
    ChannelError,
    ContentError,
    Processing,
    Published,
    TransientError,
)
from scheduler.dispatch_claim import UNCERTAIN, Job

log = logging.getLogger("loa.dispatch")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures."""

    max_attempts: int = 6
    #: Calls per look-up of an uncertain post. A look-up only reads, so one that failed for
    #: a passing reason is asked again at once: a flaky read would otherwise use up one of
    #: the post's attempts, and an uncertain post that runs out of them needs a person.
    lookup_tries: int = 2
    base_delay: float = 30.0
    max_delay: float = 3600.0
    #: Each delay is stretched or shrunk by up to this fraction, so retries do not stampede.
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempt``-th failed attempt (1-based)."""
        raw = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        return raw * (1 + rng.uniform(-self.jitter, self.jitter))


# ---------------------------------------------------------------------- the rows


@dataclass(slots=True)
class DeliveryRow:
    """A delivery's columns as recording reads and changes them (plain columns, as the
    posts' :class:`PostRow`: building SQLModel objects was most of a burst's recording)."""

    id: int
    post_id: int
    channel: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    claimed_by: str | None
    pending_step: str | None
    pending_ref: str | None
    last_error_class: str | None
    last_error_code: str | None
    last_error_message: str | None
    remote_id: str | None
    permalink: str | None
    published_at: datetime | None
    updated_at: datetime


_POST_FIELDS = tuple(PostRow.__dataclass_fields__)
_DELIVERY_FIELDS = tuple(DeliveryRow.__dataclass_fields__)
#: What recording writes back (all but the keys).
_WRITTEN = tuple(f for f in _DELIVERY_FIELDS if f not in ("id", "post_id", "channel"))
_written = attrgetter(*_WRITTEN)


@dataclass
class GroupRows:
    """A group's posts and all of their deliveries, as loaded in the recording transaction."""

    posts: dict[int, PostRow]
    by_post: dict[int, list[DeliveryRow]]
    deliveries: dict[int, DeliveryRow]
    #: The deliveries a result changed, to write back.
    changed: dict[int, DeliveryRow] = field(default_factory=dict)
    #: Each delivery's written columns as loaded, to write back only what changed.
    loaded: dict[int, tuple[Any, ...]] = field(default_factory=dict)


def lock_group(session: Session, jobs: list[Job]) -> GroupRows:
    """Load (and on PostgreSQL lock) a group's posts, then all their deliveries, in id order.

    The same order as the queue rules (post before delivery) and as other daemons (ids
    ascending), so no two transactions wait on each other in a circle. All of a post's
    deliveries, not only the group's: settling the post needs them.
    """
    post_ids = sorted({job.post_id for job in jobs})
    post_table, delivery_table = Post.__table__, Delivery.__table__  # type: ignore[attr-defined]
    posts = session.execute(
        sa_select(*(post_table.c[f] for f in _POST_FIELDS))
        .where(post_table.c.id.in_(post_ids))
        .order_by(post_table.c.id)
        .with_for_update()
    ).all()
    deliveries = session.execute(
        sa_select(*(delivery_table.c[f] for f in _DELIVERY_FIELDS))
        .where(delivery_table.c.post_id.in_(post_ids))
        .order_by(delivery_table.c.id)
        .with_for_update()
    ).all()
    by_post: dict[int, list[DeliveryRow]] = {}
    by_id: dict[int, DeliveryRow] = {}
    loaded: dict[int, tuple[Any, ...]] = {}
    for values in deliveries:
        delivery = DeliveryRow(*values)
        by_post.setdefault(delivery.post_id, []).append(delivery)
        by_id[delivery.id] = delivery
        loaded[delivery.id] = _written(delivery)
    return GroupRows({p[0]: PostRow(*p) for p in posts}, by_post, by_id, loaded=loaded)


def write_deliveries(session: Session, rows: GroupRows) -> None:
    """Write the changed deliveries back, only the columns that changed: one statement per
    set of changed columns (a burst's results share one or two), executed once per row.

    Writing every column cost most of a burst's recording: SQLAlchemy converts each
    parameter of each row (a time, three of them per row, through its type)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for delivery in rows.changed.values():
        now = _written(delivery)
        names = tuple(
            name
            for name, new, old in zip(_WRITTEN, now, rows.loaded[delivery.id], strict=True)
            if new != old
        )
        if names:
            params = {f"new_{name}": getattr(delivery, name) for name in names}
            shapes.setdefault(names, []).append({"key": delivery.id, **params})
    table = Delivery.__table__  # type: ignore[attr-defined]
    for names, params_list in shapes.items():
        session.execute(
            update(table)
            .where(table.c.id == bindparam("key"))
            .values({name: bindparam(f"new_{name}") for name in names}),
            params_list,
        )


# ---------------------------------------------------------------------- the outcome rules


def apply_outcome(
    session: Session,
    delivery: DeliveryRow,
    outcome: Published | Processing | ChannelError,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> tuple[str, str]:
    """Move ``delivery`` (claimed, ``sending``) by what its call ended with; returns the
    outcome's label and detail. Alerts and the channel's row are written in ``session``;
    the delivery's columns are the caller's to write."""
    was_uncertain = delivery.last_error_class == UNCERTAIN
    if isinstance(outcome, Published):
        return _published(session, delivery, outcome, now)
    if isinstance(outcome, Processing):
        return _processing(delivery, outcome, now)
    store_error(delivery, outcome)
    state = channel_state(session, delivery.channel, now)
    state.last_failure_at = now
    if isinstance(outcome, AuthError):
        return _paused(session, delivery, state, outcome, now, was_uncertain)
    if isinstance(outcome, ContentError):
        return _refused(session, delivery, outcome, now)
    assert isinstance(outcome, TransientError)
    return _transient(session, delivery, state, outcome, now, was_uncertain, policy, rng)


def _published(
    session: Session, delivery: DeliveryRow, outcome: Published, now: datetime
) -> tuple[str, str]:
    if delivery.pending_step is None:
        delivery.attempts += 1
    move(delivery, PUBLISH)
    delivery.remote_id = outcome.remote_id
    delivery.permalink = outcome.permalink
    delivery.published_at = now
    delivery.next_attempt_at = None
    delivery.pending_step = delivery.pending_ref = None
    clear_error(delivery)
    if outcome.warning:
        alert(
            session,
            now,
            "published_with_warning",
            delivery,
            f"post {delivery.post_id} on {delivery.channel} is published; {outcome.warning}",
            "Nothing is sent again by Loa; check the channel if this matters.",
        )
    return "published", outcome.remote_id


def _processing(delivery: DeliveryRow, outcome: Processing, now: datetime) -> tuple[str, str]:
    if delivery.pending_step is None:
        delivery.attempts += 1
    move(delivery, WAIT)
    delivery.pending_step = outcome.step
    delivery.pending_ref = outcome.ref
    delivery.next_attempt_at = now + timedelta(seconds=outcome.retry_after)
    clear_error(delivery)
    return "processing", outcome.step


def _paused(
    session: Session,
    delivery: DeliveryRow,
    state: ChannelState,
    outcome: AuthError,
    now: datetime,
    was_uncertain: bool,
) -> tuple[str, str]:
    # Not this post's fault: it waits, the channel pauses until its token works.
    move(delivery, WAIT)
    delivery.next_attempt_at = now
    if was_uncertain:
        # The refusal may have come from the look-up: the post may still be on the
        # Page from an earlier attempt, so look again once the channel resumes.
        delivery.last_error_class = UNCERTAIN
    if not state.paused:
        state.paused = True
        state.paused_reason = outcome.message
        state.paused_at = now
        alert(
            session,
            now,
            "channel_paused",
            delivery,
            f"{delivery.channel} is paused: {outcome.message}",
            "Renew the channel's token (see `loa doctor`); its posts wait and resume.",
        )
    return "paused", outcome.message


def _refused(
    session: Session, delivery: DeliveryRow, outcome: ContentError, now: datetime
) -> tuple[str, str]:
    delivery.attempts += 1
    move(delivery, FAIL)
    delivery.next_attempt_at = None
    alert(
        session,
        now,
        "delivery_failed",
        delivery,
        f"post {delivery.post_id} on {delivery.channel} was refused: {outcome.message}",
        "Edit the post and queue it again.",
    )
    return "failed", outcome.message


def _transient(
    session: Session,
    delivery: DeliveryRow,
    state: ChannelState,
    outcome: TransientError,
    now: datetime,
    was_uncertain: bool,
    policy: RetryPolicy,
    rng: random.Random,
) -> tuple[str, str]:
    if outcome.retry_after is None or outcome.uncertain:
        # A wait the platform announced (rate limit, quota, night ban) is not a failure
        # of this post: it does not use up its attempts.
        delivery.attempts += 1
    if outcome.uncertain or was_uncertain:
        # Still unknown whether the platform has it: keep looking before any re-send.
        delivery.last_error_class = UNCERTAIN
    if delivery.attempts >= policy.max_attempts:
        return _out_of_attempts(session, delivery, outcome, now)
    wait = policy.delay(delivery.attempts, rng)
    if outcome.retry_after is not None:
        wait = max(wait, outcome.retry_after)
        if outcome.channel_wide:
            # The platform named a block: hold the whole channel, not just this post.
            until = now + timedelta(seconds=outcome.retry_after)
            state.blocked_until = max(state.blocked_until or until, until)
    move(delivery, WAIT)
    delivery.next_attempt_at = now + timedelta(seconds=wait)
    return "retry", f"{outcome.message} (next in {wait:.0f}s)"


def _out_of_attempts(
    session: Session, delivery: DeliveryRow, outcome: TransientError, now: datetime
) -> tuple[str, str]:
    delivery.next_attempt_at = None
    # A post the platform may have (an unknown outcome, or a step of a post it already
    # accepted, e.g. a Zalo article being processed) never ends `failed`: re-posting
    # it by hand would make a second copy. A person looks first.
    if delivery.last_error_class == UNCERTAIN or delivery.pending_step is not None:
        accepted = delivery.pending_step is not None
        move(delivery, REVIEW)
        reason = (
            f"the platform accepted it ({delivery.pending_step}) but Loa could not "
            "confirm it was published"
            if accepted
            else "Loa cannot tell whether it was published"
        )
        delivery.last_error_message = f"{reason}: {outcome.message}"[:2000]
        alert(
            session,
            now,
            "needs_review",
            delivery,
            f"post {delivery.post_id} on {delivery.channel}: {reason} ({outcome.message})",
            "Look at the Page/OA, then mark it published or not published in the TUI.",
        )
        return "needs_review", outcome.message
    move(delivery, FAIL)
    alert(
        session,
        now,
        "delivery_failed",
        delivery,
        f"post {delivery.post_id} on {delivery.channel} failed "
        f"{delivery.attempts} times: {outcome.message}",
        "Check the channel with `loa doctor`, then retry the post.",
    )
    return "failed", outcome.message


def store_error(delivery: DeliveryRow, error: ChannelError) -> None:
    """Keep ``error`` on the delivery (its class, code and message) for the faces to show."""
    delivery.last_error_class = error.error_class
    delivery.last_error_code = error.code_text()
    delivery.last_error_message = error.message[:2000]


def clear_error(delivery: DeliveryRow) -> None:
    """Forget the delivery's last error (the platform answered)."""
    delivery.last_error_class = delivery.last_error_code = delivery.last_error_message = None


def alert(
    session: Session, now: datetime, kind: str, delivery: DeliveryRow, message: str, advice: str
) -> None:
    """Add an alert about ``delivery`` for the office (the TUI, the daily digest)."""
    session.add(
        Alert(
            at=now,
            kind=kind,
            channel=delivery.channel,
            post_id=delivery.post_id,
            delivery_id=delivery.id,
            message=message,
            advice=advice,
        )
    )


# ---------------------------------------------------------------------- the channel's row


def upsert(session: Session, table: Any) -> Any:
    """An INSERT that can take ``on_conflict_do_*`` on this session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


def channel_state(session: Session, channel: str, now: datetime) -> ChannelState:
    """The channel's shared state row, created on first use (safe when daemons race)."""
    session.execute(
        upsert(session, ChannelState)
        .values(channel=channel, paused=False, updated_at=now)
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    state = session.get(ChannelState, channel, with_for_update=True)
    assert state is not None
    state.updated_at = now
    session.add(state)
    return state


def touch_success(
    session: Session, channels: set[str], now: datetime, written: dict[str, datetime]
) -> None:
    """Note the channels' last success, at most once a second each (``written``: when each
    was last noted by this daemon; updated here).

    The channel row is shared by every result of the channel: touching it on each one
    serialised a burst, and "last success" to the second is precise enough.
    """
    stale = sorted(
        c
        for c in channels
        if (noted := written.get(c)) is None or now - noted >= timedelta(seconds=1)
    )
    if not stale:
        return
    # One statement shape whatever the number of channels (an executemany): a VALUES
    # list of varying length was compiled again for each group.
    statement = upsert(session, ChannelState).values(
        channel=bindparam("c"), paused=False, last_success_at=now, updated_at=now
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["channel"],
            set_=dict(last_success_at=statement.excluded.last_success_at, updated_at=now),
        ),
        [{"c": c} for c in stale],
    )
    for channel in stale:
        written[channel] = now


def resume_channel(engine: Engine, channel: str, clock: Callable[[], datetime] = utcnow) -> bool:
    """Unpause a channel (its token works again); True when it was paused."""
    with session_scope(engine) as session:
        state = session.get(ChannelState, channel)
        if state is None or not state.paused:
            return False
        state.paused = False
        state.paused_reason = None
        state.updated_at = clock()
        session.add(state)
    log.info("channel %s resumed", channel)
    return True


def paused_channels(engine: Engine) -> dict[str, str]:
    """Paused channels and why."""
    with session_scope(engine, write=False) as session:
        rows = session.exec(select(ChannelState).where(col(ChannelState.paused).is_(True))).all()
        return {r.channel: r.paused_reason or "" for r in rows}
