"""What the queue reads: a post's rows, and the warnings worth a second look.

The row types (:class:`PostRow`, :class:`DeliveryRow`) are the plain-column shapes the
dispatcher records a burst with; the loaders raise :class:`NotFound` for a post or delivery
that is not there. The warnings (:func:`warnings_for`) never stop a change: the same text
already queued or published, posts too close together, a Zalo broadcast in the night ban.
:class:`QueueReader` is what a person may read of the queue; :class:`content.queue.Queue`
adds the changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from content.accounts import Access, fold, unenforced
from content.db import session_scope
from content.errors import NotFound
from content.messages import Notice
from content.models import AuditEvent, Delivery, DeliveryState, MediaFile, Post, PostState
from content.office import ZALO_OA, ChannelDirectory
from content.queue_input import ImageInput
from content.times import utcnow

Clock = Callable[[], datetime]

#: Look back this far for the same text already published to the same channel.
DUPLICATE_LOOKBACK = timedelta(days=14)
#: Zalo refuses promotional sends from 22:00 to 06:00 (office time).
ZALO_NIGHT = (time(22, 0), time(6, 0))


@dataclass(slots=True)
class PostRow:
    """A post's columns that settling reads and may change, as plain values: the dispatcher
    records a burst's results without building SQLModel objects (most of the cost)."""

    id: int
    state: str
    updated_at: datetime
    scheduled_at: datetime | None
    title: str | None
    text: str
    link: str | None
    image_ids: list[int]
    campaign: str | None
    tags: list[str]


class DeliveryRow(Protocol):
    """A delivery as plain columns (what settling reads)."""

    channel: str
    state: str


@dataclass(frozen=True)
class Unsaved:
    """What :func:`warnings_for` reads of a post, for one not written yet (a preview)."""

    fingerprint: str
    scheduled_at: datetime | None
    series_id: str | None = None
    id: int | None = None


class QueueReader:
    """The queue of one office, as one person may read it.

    ``access`` says who acts and what he may touch (see :func:`content.accounts.identify`);
    a bare ``actor`` name is for processes that are not a person (the daemon, the demo) and
    for installs without accounts: nothing is enforced. Every refusal is raised before
    anything is written. ``clock`` returns the current aware UTC time; tests inject one.
    """

    def __init__(
        self,
        engine: Engine,
        directory: ChannelDirectory,
        *,
        actor: str | None = None,
        access: Access | None = None,
        clock: Clock = utcnow,
    ) -> None:
        if access is None:
            if actor is None:
                raise TypeError("Queue needs an actor or an access")
            access = unenforced(actor)
        self.engine = engine
        self.directory = directory
        self.access = access
        self.actor = access.actor
        self.clock = clock

    def get(self, post_id: int) -> tuple[Post, list[Delivery]]:
        """A post and its deliveries."""
        with session_scope(self.engine) as session:
            post = load_post(session, post_id)
            found = deliveries(session, post_id)
            self._visible(post_id, [d.channel for d in found])
            return post, found

    def audit_trail(self, post_id: int) -> list[AuditEvent]:
        """The audit events of one post, oldest first."""
        with session_scope(self.engine) as session:
            load_post(session, post_id)
            self._visible(post_id, [d.channel for d in deliveries(session, post_id)])
            return list(
                session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.post_id == post_id)
                    .order_by(col(AuditEvent.id))
                ).all()
            )

    def _visible(self, post_id: int, channels: list[str]) -> None:
        """Refuse a post none of whose channels the person sees: as if it were not there."""
        if not self.access.sees_any(channels):
            raise NotFound("post_hidden", id=post_id, user=self.actor)


def deliveries(session: Session, post_id: int) -> list[Delivery]:
    """A post's deliveries, by id."""
    return list(
        session.exec(
            select(Delivery).where(Delivery.post_id == post_id).order_by(col(Delivery.id))
        ).all()
    )


def load_post(session: Session, post_id: int, *, lock: bool = False) -> Post:
    """The post ``post_id`` (with ``lock``, its row locked for this transaction)."""
    query = select(Post).where(Post.id == post_id)
    if lock:
        query = query.with_for_update()
    post = session.exec(query).first()
    if post is None:
        raise NotFound("post_missing", id=post_id)
    return post


def load_delivery(session: Session, delivery_id: int) -> tuple[Post, Delivery]:
    """A delivery and its post, both locked: the post first, as everywhere (no deadlocks)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("delivery_missing", id=delivery_id)
    post = load_post(session, delivery.post_id, lock=True)
    session.refresh(delivery, with_for_update=True)
    return post, delivery


def image_input(session: Session, media_id: int) -> ImageInput:
    """A stored image as the input it came from (an edit validates the post again)."""
    row = session.get(MediaFile, media_id)
    assert row is not None
    return ImageInput(filename=row.filename, data=row.data)


def authors(session: Session, post: Post) -> set[str]:
    """Who wrote ``post``: its author, and whoever really acted when he was acted for."""
    real = session.exec(
        select(AuditEvent.real_actor).where(
            AuditEvent.post_id == post.id,
            AuditEvent.action == "create",
            col(AuditEvent.real_actor).is_not(None),
        )
    ).all()
    return {fold(post.author), *(fold(r) for r in real if r)}


def _same_series(session: Session, post_id: int, series_id: str) -> bool:
    other = session.get(Post, post_id)
    return other is not None and other.series_id == series_id


def warnings_for(
    session: Session,
    directory: ChannelDirectory,
    post: Post | Unsaved,
    channels: Iterable[str],
    now: datetime,
) -> list[str]:
    """Things worth a second look that do not stop the post."""
    channels = list(channels)
    found = _same_text(session, directory, post, channels, now)
    if post.scheduled_at is not None:
        found.extend(_too_close(session, directory, post, post.scheduled_at, channels))
        zalo = night_broadcasts(directory, channels, post.scheduled_at)
        if zalo:
            found.append(Notice("warn_zalo_night", channels=zalo))
    return found


def _same_text(
    session: Session,
    directory: ChannelDirectory,
    post: Post | Unsaved,
    channels: list[str],
    now: datetime,
) -> list[str]:
    """The same text queued, or published lately, on the same channels (not the series')."""
    tz = directory.office.timezone
    found: list[str] = []
    # Five columns: past sqlmodel.select()'s typed overloads, so SQLAlchemy's own.
    same_text = session.execute(
        sa_select(
            col(Post.id),
            col(Post.state),
            col(Delivery.channel),
            col(Delivery.state),
            col(Delivery.published_at),
        )
        .join(Delivery, col(Delivery.post_id) == col(Post.id))
        .where(col(Post.fingerprint) == post.fingerprint)
        .where(col(Post.id) != post.id)
        .where(col(Delivery.channel).in_(channels))
        .where(col(Post.state) != PostState.CANCELLED)
    ).all()
    for other_id, _other_state, channel, d_state, published_at in same_text:
        if post.series_id and _same_series(session, other_id, post.series_id):
            continue
        if d_state in (DeliveryState.PENDING, DeliveryState.SENDING):
            found.append(Notice("warn_same_queued", channel=channel, id=other_id))
        elif (
            d_state == DeliveryState.PUBLISHED
            and published_at is not None
            and published_at >= now - DUPLICATE_LOOKBACK
        ):
            found.append(
                Notice(
                    "warn_same_published",
                    channel=channel,
                    when=published_at.astimezone(tz),
                    id=other_id,
                )
            )
    return found


def _too_close(
    session: Session,
    directory: ChannelDirectory,
    post: Post | Unsaved,
    at: datetime,
    channels: list[str],
) -> list[str]:
    """Other posts on the same channels within the office's minimum spacing of ``at``."""
    tz = directory.office.timezone
    spacing = directory.office.min_spacing
    near = session.exec(
        select(Post.id, Post.scheduled_at, Delivery.channel)
        .join(Delivery, col(Delivery.post_id) == col(Post.id))
        .where(Post.id != post.id)
        .where(col(Delivery.channel).in_(channels))
        .where(col(Delivery.state) != DeliveryState.CANCELLED)
        .where(col(Post.state) != PostState.CANCELLED)
        .where(col(Post.scheduled_at) > at - spacing)
        .where(col(Post.scheduled_at) < at + spacing)
    ).all()
    return [
        Notice(
            "warn_spacing",
            channel=channel,
            id=other_id,
            when=other_at.astimezone(tz) if other_at is not None else "-",
            n=int(spacing.total_seconds() // 60),
        )
        for other_id, other_at, channel in near
    ]


def night_broadcasts(
    directory: ChannelDirectory, channels: Sequence[str], at: datetime
) -> list[str]:
    """The Zalo OAs among ``channels`` whose broadcast at ``at`` falls in Zalo's night ban.

    Only OAs that broadcast (``broadcast = true``): an article alone is published at any
    hour, so an office that does not broadcast is not warned about every night-time post.
    """
    local = at.astimezone(directory.office.timezone).time()
    if not (local >= ZALO_NIGHT[0] or local < ZALO_NIGHT[1]):
        return []
    return [
        c for c in channels if directory.kind_of(c) == ZALO_OA and directory.channels[c].broadcast
    ]
