"""The dispatcher's claims: taking due deliveries, and taking back a dead daemon's.

A delivery is claimed atomically (one conditional UPDATE; on PostgreSQL the candidate rows
are locked with ``FOR UPDATE SKIP LOCKED``) and the claim is committed *before* the
platform is called, so two daemons never send the same delivery. The claim returns what
each call needs (:class:`Job`), and what it says about the work left (:class:`Batch`).

A daemon that dies leaves its claims ``sending``; another daemon (or itself, restarted)
takes them back as uncertain (:func:`take_back`): the next attempt looks on the platform
before anything is sent again.

The lanes' arithmetic (how much room each channel has) is the dispatcher's
(:class:`scheduler.dispatch.Dispatcher`); these functions take its results as arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from content.db import session_scope
from content.delivery_states import CLAIM, WAIT, move, sources, target
from content.models import (
    ChannelState,
    DaemonHeartbeat,
    Delivery,
    DeliveryState,
    MediaFile,
    Post,
)
from scheduler.channels.base import MediaBlob, OutgoingPost

log = logging.getLogger("loa.dispatch")

#: last_error_class of an attempt whose outcome is unknown: look before sending again.
UNCERTAIN = "uncertain"


@dataclass
class Job:
    """A claimed delivery, with all its call needs."""

    delivery_id: int
    post_id: int
    channel: str
    due: datetime | None
    attempts: int
    uncertain: bool
    post: OutgoingPost


@dataclass
class Batch:
    """What one claim took, and what it says about the work left."""

    claimed: list[tuple[int, str]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    #: Channels with due work left unclaimed because they had no free slot.
    waiting: set[str] = field(default_factory=set)
    #: More was due than the overall limit let this claim take.
    crowded: bool = False
    #: The earliest due time after the claim's horizon (None: nothing waits).
    next_due: datetime | None = None


#: What a claim returns of each delivery: all a call needs, with the post's columns below.
CLAIMED_COLUMNS = (
    col(Delivery.id),
    col(Delivery.channel),
    col(Delivery.post_id),
    col(Delivery.next_attempt_at),
    col(Delivery.attempts),
    col(Delivery.last_error_class),
    col(Delivery.text_variant),
    col(Delivery.pending_step),
    col(Delivery.pending_ref),
)


def claim(
    engine: Engine,
    worker: str,
    *,
    now: datetime,
    horizon: datetime,
    limit: int,
    room: Mapping[str, int],
    default: int,
    load: bool,
) -> Batch:
    """One claiming transaction: up to ``limit`` deliveries due by ``horizon`` that fit each
    channel's ``room`` (``default`` for a channel not named), marked ``sending`` for
    ``worker``; what comes next; and with ``load`` what each claimed delivery says."""
    batch = Batch()
    with session_scope(engine) as session:
        blocked = blocked_channels(session, now)
        full = [c for c, n in room.items() if n <= 0]
        rows = _due(session, [*blocked, *full], horizon, max([default, *room.values()]))
        fits = [r for r in rows if r.rank <= room.get(r.channel, default)]
        fitting = {r.id for r in fits}
        # Lanes with due work this claim leaves behind: a slot freeing there claims again.
        batch.waiting = {*full, *(r.channel for r in rows if r.id not in fitting)}
        batch.crowded = len(fits) > limit
        batch.next_due = next_due(session, blocked, horizon)
        claimed = _take(session, [r.id for r in fits[:limit]], worker, now)
        batch.claimed = [(r.id, r.channel) for r in claimed]
        if load and claimed:
            batch.jobs = load_jobs(session, claimed)
    return batch


def _due(session: Session, skip: list[str], horizon: datetime, most: int) -> Sequence[Any]:
    """Each open channel's earliest ``most + 1`` deliveries due by ``horizon``, ranked within
    their channel, earliest due first."""
    due = select(
        Delivery.id,
        Delivery.channel,
        Delivery.next_attempt_at,
        func.row_number()
        .over(
            partition_by=col(Delivery.channel),
            order_by=(col(Delivery.next_attempt_at), col(Delivery.id)),
        )
        .label("rank"),
    ).where(Delivery.state == DeliveryState.PENDING, col(Delivery.next_attempt_at) <= horizon)
    if skip:
        due = due.where(col(Delivery.channel).not_in(skip))
    ranked = due.subquery()
    # Each channel's earliest few; the room of each is applied by the caller rather than in
    # SQL, so the statement's shape never changes and is compiled once (a CASE over the
    # channels' room cost a compilation per claim, most of a claim's CPU).
    return session.execute(
        select(ranked.c.id, ranked.c.channel, ranked.c.rank)
        .where(ranked.c.rank <= most + 1)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
    ).all()


def _take(session: Session, ids: list[Any], worker: str, now: datetime) -> list[Any]:
    """Mark the deliveries ``ids`` that are still waiting ``sending`` for ``worker``; returns
    the claimed ones' :data:`CLAIMED_COLUMNS`, by id."""
    if not ids:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # Several daemons: lock the candidates, skipping rows another daemon holds
        # (locks cannot go with window functions: a statement of their own).
        ids = list(
            session.exec(
                select(Delivery.id)
                .where(col(Delivery.id).in_(ids))
                .where(Delivery.state == DeliveryState.PENDING)
                .with_for_update(skip_locked=True)
            ).all()
        )
        if not ids:
            return []
    # On SQLite the write lock taken at BEGIN keeps other writers out until commit; the
    # state condition makes the claim safe on both. The claim returns what the call
    # needs of each delivery: no second read of them.
    claimed = list(
        session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .where(col(Delivery.state).in_(sources(CLAIM)))
            .values(state=target(CLAIM), claimed_by=worker, claimed_at=now, updated_at=now)
            .returning(*CLAIMED_COLUMNS)
        ).all()
    )
    claimed.sort(key=lambda r: r.id)
    return claimed


def next_due(
    session: Session, blocked: list[str], after: datetime | None = None
) -> datetime | None:
    """The earliest due time of a waiting delivery on an open channel (after ``after``)."""
    query = select(func.min(Delivery.next_attempt_at)).where(
        Delivery.state == DeliveryState.PENDING
    )
    if after is not None:
        query = query.where(col(Delivery.next_attempt_at) > after)
    if blocked:
        query = query.where(col(Delivery.channel).not_in(blocked))
    return session.exec(query).one()


def blocked_channels(session: Session, now: datetime) -> list[str]:
    """Channels whose deliveries wait: paused (a token to renew) or blocked until later."""
    return list(
        session.exec(
            select(ChannelState.channel).where(
                or_(col(ChannelState.paused).is_(True), col(ChannelState.blocked_until) > now)
            )
        ).all()
    )


def load_jobs(session: Session, claimed: Sequence[Any]) -> list[Job]:
    """What each claimed delivery publishes: one read of the posts, one of their images.

    Plain columns, not ORM objects: a burst claims hundreds, and nothing here is written.
    """
    posts = {
        row.id: row
        for row in session.execute(
            sa_select(
                col(Post.id),
                col(Post.text),
                col(Post.title),
                col(Post.link),
                col(Post.image_ids),
                col(Post.fingerprint),
                col(Post.infographic),
                col(Post.scheduled_at),
            ).where(col(Post.id).in_({r.post_id for r in claimed}))
        )
    }
    media_ids = {m for p in posts.values() for m in p.image_ids or ()}
    media: dict[int, MediaBlob] = {}
    if media_ids:
        media = {
            m.id: MediaBlob(filename=m.filename, mime=m.mime, data=m.data)
            for m in session.exec(select(MediaFile).where(col(MediaFile.id).in_(media_ids)))
            if m.id is not None
        }
    return [_job(row, posts[row.post_id], media) for row in claimed]


def _job(row: Any, post: Any, media: Mapping[int, MediaBlob]) -> Job:
    """One claimed delivery (``row``, :data:`CLAIMED_COLUMNS`) of ``post`` as its call."""
    uncertain = row.last_error_class == UNCERTAIN
    outgoing = OutgoingPost(
        delivery_id=row.id,
        channel=row.channel,
        text=row.text_variant or post.text,
        title=post.title,
        link=post.link,
        images=tuple(media[m] for m in post.image_ids or () if m in media),
        fingerprint=post.fingerprint,
        infographic=post.infographic,
        first_attempt_at=post.scheduled_at,
        pending_step=row.pending_step,
        pending_ref=row.pending_ref,
        uncertain=uncertain,
    )
    return Job(
        delivery_id=row.id,
        post_id=row.post_id,
        channel=row.channel,
        due=row.next_attempt_at,
        attempts=row.attempts,
        uncertain=uncertain,
        post=outgoing,
    )


def take_back(
    engine: Engine,
    worker: str,
    *,
    now: datetime,
    everything: bool,
    last_beat: datetime | None,
    silent_after: timedelta,
    lease: timedelta,
    recovery_grace: timedelta,
) -> list[int]:
    """Turn ``sending`` deliveries left by a dead daemon into uncertain retries.

    With ``everything`` (one daemon on SQLite, at start-up) every ``sending`` row is an
    orphan. Otherwise the claims of daemons whose heartbeat has been silent for
    ``silent_after``, and any claim older than the lease. A daemon judges others silent
    only while its own heartbeat (``last_beat``) is fresh: after a database outage every
    heartbeat is old, and the live daemons must first have had a poll to beat again. The
    next attempt asks the platform first, so nothing is sent twice; it waits until
    ``recovery_grace`` after the dead daemon's claim, so a request it had in flight has
    been answered (or dropped) by the platform before anyone looks for its result.
    """
    with session_scope(engine) as session:
        query = select(Delivery).where(Delivery.state == DeliveryState.SENDING)
        silent: list[str] = []
        if not everything:
            if last_beat is not None and now - last_beat <= silent_after / 2:
                silent = _silent_daemons(session, worker, now - silent_after)
            expired = col(Delivery.claimed_at) <= now - lease
            query = query.where(
                or_(expired, col(Delivery.claimed_by).in_(silent)) if silent else expired
            )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        orphans = list(session.exec(query).all())
        if silent:
            # Their claims are taken back now; a daemon that was only stalled writes its
            # heartbeat again (its late results find the claims gone and change nothing).
            session.execute(delete(DaemonHeartbeat).where(col(DaemonHeartbeat.worker).in_(silent)))
        for delivery in orphans:
            claimed = delivery.claimed_at or now
            move(delivery, WAIT)
            delivery.last_error_class = UNCERTAIN
            delivery.last_error_code = None
            delivery.last_error_message = (
                "the daemon stopped while sending; checking the platform first"
            )
            delivery.next_attempt_at = max(now, claimed + recovery_grace)
            delivery.claimed_by = None
            delivery.updated_at = now
            session.add(delivery)
        ids = sorted(d.id for d in orphans if d.id is not None)
    if ids:
        log.warning(
            "recovered %d deliveries left sending: %s%s",
            len(ids),
            ids,
            f" (silent daemons: {', '.join(sorted(silent))})" if silent else "",
        )
    return ids


def _silent_daemons(session: Session, worker: str, seen_before: datetime) -> list[str]:
    """The other daemons whose last heartbeat is older than ``seen_before``."""
    return list(
        session.exec(
            select(DaemonHeartbeat.worker)
            .where(col(DaemonHeartbeat.seen_at) < seen_before)
            .where(col(DaemonHeartbeat.worker) != worker)
        ).all()
    )
