"""The queue rules: the only module that changes a post's state.

Every change is validated per channel *before* anything is written, runs in one
transaction, and leaves an :class:`~content.models.AuditEvent` behind. The faces (CLI,
TUI) and the runtime (dispatcher) call these functions; none of them edits a Post row.

Life of a post::

    draft -> in_review -> approved (no time yet) -> scheduled -> done
                 ^  |          \\________________/        |
                 |  v (sent back)                          v
               draft                                   cancelled (from any live state)
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import Engine, bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from content import audit as audit_log
from content import delivery_states, media
from content.accounts import Access, AccessDenied, fold, unenforced
from content.db import session_scope
from content.errors import NotFound, StateError, ValidationError
from content.limits import TEXT_LIMITS, clean, length, nfc
from content.messages import Notice
from content.models import (
    SETTLED_DELIVERY_STATES,
    AuditEvent,
    Delivery,
    DeliveryState,
    MediaFile,
    Post,
    PostState,
    Role,
)
from content.office import ZALO_OA, ChannelDirectory
from content.search import search_text
from content.times import NOW_TOLERANCE_SECONDS, local_text, utcnow

#: Look back this far for the same text already published to the same channel.
DUPLICATE_LOOKBACK = timedelta(days=14)
#: A repeat rule makes at most this many posts at once.
MAX_OCCURRENCES = 366
#: Source images larger than this are refused outright (re-encoding cannot save them).
MAX_SOURCE_IMAGE_BYTES = 20 * 1024 * 1024
#: Zalo refuses promotional sends from 22:00 to 06:00 (office time).
ZALO_NIGHT = (time(22, 0), time(6, 0))

LIVE_STATES = (PostState.DRAFT, PostState.IN_REVIEW, PostState.APPROVED, PostState.SCHEDULED)
EDITABLE_STATES = LIVE_STATES


@dataclass(frozen=True)
class ImageInput:
    """An image as the user gave it: a name for messages and the file's bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Repeat:
    """Repeat every ``every_days`` days, or weekly on ``weekdays`` (0=Monday), until a date."""

    until: date
    every_days: int | None = None
    weekdays: tuple[int, ...] = ()


@dataclass
class PostInput:
    """What a user asks for when creating or fully editing a post."""

    text: str
    channels: Sequence[str]
    title: str | None = None
    link: str | None = None
    images: Sequence[ImageInput] = ()
    campaign: str | None = None
    tags: Sequence[str] = ()
    at: datetime | None = None
    variants: dict[str, str] = field(default_factory=dict)
    repeat: Repeat | None = None
    infographic: dict[str, Any] | None = None
    source: str | None = None


@dataclass
class Outcome:
    """What a change did: the posts it touched and the warnings the user should see."""

    posts: list[Post]
    warnings: list[str] = field(default_factory=list)

    @property
    def post(self) -> Post:
        """The (first) post touched."""
        return self.posts[0]


Clock = Callable[[], datetime]


def fingerprint(text: str) -> str:
    """A content fingerprint: NFC, case-folded, whitespace collapsed, hashed."""
    canonical = " ".join(nfc(text).casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


class Queue:
    """The queue of one office, acting as one person.

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

    # ------------------------------------------------------------------ create

    def create(self, request: PostInput, *, submit: bool = False, approve: bool = False) -> Outcome:
        """Create a draft (or several, for a repeat rule); optionally submit and approve it."""
        return self.create_many([request], submit=submit, approve=approve)

    def create_many(
        self, requests: Sequence[PostInput], *, submit: bool = False, approve: bool = False
    ) -> Outcome:
        """Create several posts in one transaction: all are validated first, all or nothing."""
        now = self.clock()
        prepared = [self.validate(r, now=now) for r in requests]
        for _request, channels in prepared:
            self.access.require_channels(channels, "write posts")
        if approve:
            self.access.require(Role.APPROVER, "approve posts")
        outcome = Outcome(posts=[])
        with session_scope(self.engine) as session:
            for request, channels in prepared:
                media_ids = [_store_image(session, img, now) for img in request.images]
                occurrences = _occurrences(request.at, request.repeat, self.directory)
                series = str(uuid.uuid4()) if len(occurrences) > 1 else None
                for at in occurrences:
                    post = self._insert(session, request, channels, media_ids, at, series, now)
                    outcome.warnings.extend(self._warnings(session, post, channels, now))
                    if submit or approve:
                        self._transition(session, post, PostState.IN_REVIEW, "submit", now)
                    if approve:
                        outcome.warnings.extend(self._approve(session, post, None, now))
                    outcome.posts.append(post)
        # A weekly repeat would say the same warning once per occurrence: say it once.
        outcome.warnings = list(dict.fromkeys(outcome.warnings))
        return outcome

    def preview_warnings(self, request: PostInput) -> list[str]:
        """The warnings :meth:`create` would give for ``request``, without writing anything.

        Validates first (raises :class:`ValidationError` like :meth:`create`), then checks
        each occurrence as a post that does not exist yet, so a face can warn before saving.
        """
        now = self.clock()
        request, channels = self.validate(request, now=now)
        warnings: list[str] = []
        with session_scope(self.engine) as session:
            for at in _occurrences(request.at, request.repeat, self.directory):
                unsaved = _Unsaved(
                    fingerprint=fingerprint(request.text),
                    scheduled_at=at.astimezone(UTC) if at else None,
                )
                for warning in self._warnings(session, unsaved, channels, now):
                    if warning not in warnings:
                        warnings.append(warning)
        return warnings

    def validate(
        self, request: PostInput, *, now: datetime | None = None
    ) -> tuple[PostInput, list[str]]:
        """Check ``request`` against every chosen channel; returns it normalised and its channels.

        Raises :class:`ValidationError` naming the field at the first problem.
        """
        now = now or self.clock()
        channels = self.directory.expand(request.channels)
        if not channels:
            raise ValidationError("no_channel", field="channel")
        text = clean(request.text).strip()
        if not text:
            raise ValidationError("no_text", field="text")
        title = clean(request.title).strip() if request.title else None
        link = request.link.strip() if request.link else None
        if link:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValidationError("not_http_url", field="link", url=link)
        variants = {}
        for channel, variant in request.variants.items():
            if channel not in channels:
                raise ValidationError("variant_channel", field="variant", channel=channel)
            variants[channel] = clean(variant).strip()
        for channel in channels:
            kind = self.directory.kind_of(channel)
            _check_text(channel, kind, variants.get(channel, text), title, len(request.images))
        infos = [_inspect(img) for img in request.images]
        for channel in channels:
            kind = self.directory.kind_of(channel)
            for img, info in zip(request.images, infos, strict=True):
                try:
                    media.check_for_channel(info, kind)
                except ValidationError as exc:
                    raise ValidationError(
                        "image_for_channel",
                        field="image",
                        name=img.filename,
                        reason=exc.notice(),
                        channel=channel,
                    ) from None
        if request.at is not None:
            _check_future(request.at, now, self.directory)
        if request.repeat is not None:
            _check_repeat(request.at, request.repeat, self.directory)
        tags = [clean(t).strip() for t in request.tags if clean(t).strip()]
        campaign = clean(request.campaign).strip() if request.campaign else None
        normalised = replace(
            request,
            text=text,
            title=title,
            link=link,
            variants=variants,
            tags=tags,
            campaign=campaign or None,
        )
        return normalised, channels

    # ------------------------------------------------------------------ changes

    def edit(
        self,
        post_id: int,
        *,
        text: str | None = None,
        title: str | None = None,
        link: str | None = None,
        channels: Sequence[str] | None = None,
        campaign: str | None = None,
        tags: Sequence[str] | None = None,
        variants: dict[str, str] | None = None,
    ) -> Outcome:
        """Change a post's content or channels until it is being sent.

        With ``require_second_approver``, a content change after approval sends the post
        back to review: what was approved is not what would be published.
        """
        now = self.clock()
        with session_scope(self.engine) as session:
            post = self._load(session, post_id, lock=True)
            if post.state not in EDITABLE_STATES:
                raise StateError("edit_state", id=post_id, state=post.state)
            deliveries = _deliveries(session, post_id)
            current_channels = [d.channel for d in deliveries]
            self.access.require_channels(current_channels, "edit posts")
            if any(d.state != DeliveryState.PENDING for d in deliveries):
                raise StateError("edit_sending", id=post_id)
            request = PostInput(
                text=post.text if text is None else text,
                title=post.title if title is None else (title or None),
                link=post.link if link is None else (link or None),
                channels=current_channels if channels is None else channels,
                campaign=post.campaign if campaign is None else campaign,
                tags=post.tags if tags is None else tags,
                variants=(
                    {d.channel: d.text_variant for d in deliveries if d.text_variant}
                    if variants is None
                    else variants
                ),
                images=[_image_input(session, i) for i in post.image_ids],
                at=None,
            )
            request, new_channels = self.validate(request, now=now)
            self.access.require_channels(new_channels, "write posts")
            before = _snapshot(post, deliveries)
            post.text = request.text
            post.title = request.title
            post.link = request.link
            post.campaign = request.campaign
            post.tags = list(request.tags)
            post.fingerprint = fingerprint(request.text)
            post.search_text = search_text(post.title, post.text, post.author)
            post.updated_at = now
            session.add(post)
            by_channel = {d.channel: d for d in deliveries}
            for channel, delivery in by_channel.items():
                if channel not in new_channels:
                    session.delete(delivery)
            for channel in new_channels:
                delivery = by_channel.get(channel) or _new_delivery(post, channel, now)
                delivery.text_variant = request.variants.get(channel)
                delivery.updated_at = now
                session.add(delivery)
            session.flush()
            warnings: list[str] = []
            content_changed = before["content"] != _snapshot(post, [])["content"] or set(
                current_channels
            ) != set(new_channels)
            if (
                content_changed
                and self.directory.office.require_second_approver
                and post.state in (PostState.APPROVED, PostState.SCHEDULED)
            ):
                self._transition(session, post, PostState.IN_REVIEW, "return_to_review", now)
                warnings.append(Notice("warn_back_to_review", id=post_id))
            elif post.state == PostState.SCHEDULED:
                _arm_deliveries(session, post, now)
            after = _snapshot(post, _deliveries(session, post_id))
            _audit(session, self.access, "edit", post, before, after, now)
            warnings.extend(self._warnings(session, post, new_channels, now))
            return Outcome([post], warnings)

    def submit(self, post_id: int) -> Outcome:
        """Send a draft for review."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post = self._load(session, post_id, lock=True)
            self._allowed(session, post, "submit posts")
            self._transition(session, post, PostState.IN_REVIEW, "submit", now)
            return Outcome([post])

    def approve(self, post_id: int, comment: str | None = None) -> Outcome:
        """Approve a post in review; with a time it becomes scheduled."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post = self._load(session, post_id, lock=True)
            self._allowed(session, post, "approve posts", Role.APPROVER)
            warnings = self._approve(session, post, comment, now)
            return Outcome([post], warnings)

    def send_back(self, post_id: int, comment: str) -> Outcome:
        """Return a post in review to its author as a draft, with the reviewer's comment."""
        now = self.clock()
        if not comment.strip():
            raise ValidationError("comment_missing", field="comment")
        with session_scope(self.engine) as session:
            post = self._load(session, post_id, lock=True)
            self._allowed(session, post, "send posts back", Role.APPROVER)
            if post.state != PostState.IN_REVIEW:
                raise StateError("send_back_state", id=post_id, state=post.state)
            post.review_comment = comment.strip()
            self._transition(session, post, PostState.DRAFT, "send_back", now, detail=comment)
            return Outcome([post])

    def schedule(self, post_id: int, at: datetime) -> Outcome:
        """Give a post its time, or move it to another (reschedule)."""
        now = self.clock()
        _check_future(at, now, self.directory)
        with session_scope(self.engine) as session:
            post = self._load(session, post_id, lock=True)
            if post.state not in LIVE_STATES:
                raise StateError("schedule_state", id=post_id, state=post.state)
            deliveries = _deliveries(session, post_id)
            self.access.require_channels([d.channel for d in deliveries], "schedule posts")
            if any(d.state != DeliveryState.PENDING for d in deliveries):
                raise StateError("schedule_sending", id=post_id)
            before = _snapshot(post, deliveries)
            post.scheduled_at = at.astimezone(UTC)
            post.updated_at = now
            if post.state == PostState.APPROVED:
                post.state = PostState.SCHEDULED
            if post.state == PostState.SCHEDULED:
                _arm_deliveries(session, post, now)
            session.add(post)
            session.flush()
            action = "reschedule" if before["scheduled_at"] else "schedule"
            _audit(session, self.access, action, post, before, _snapshot(post, deliveries), now)
            warnings = self._warnings(session, post, [d.channel for d in deliveries], now)
            return Outcome([post], warnings)

    def cancel(self, post_id: int, reason: str | None = None) -> Outcome:
        """Cancel a live post: its waiting deliveries are cancelled; published ones stay."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post = self._load(session, post_id, lock=True)
            if post.state not in LIVE_STATES:
                raise StateError("cancel_state", id=post_id, state=post.state)
            deliveries = _deliveries(session, post_id)
            self.access.require_channels([d.channel for d in deliveries], "cancel posts")
            if any(d.state == DeliveryState.SENDING for d in deliveries):
                raise StateError("cancel_sending", id=post_id)
            # Conditional: a daemon may claim a delivery between the check and this write.
            session.execute(
                update(Delivery)
                .where(col(Delivery.post_id) == post_id)
                .where(col(Delivery.state).in_(delivery_states.sources(delivery_states.CANCEL)))
                .values(
                    state=delivery_states.target(delivery_states.CANCEL),
                    next_attempt_at=None,
                    updated_at=now,
                )
            )
            self._transition(session, post, PostState.CANCELLED, "cancel", now, detail=reason)
            return Outcome([post])

    def retry_delivery(self, delivery_id: int) -> Outcome:
        """Send a failed delivery again now (a person checked the cause was fixed)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post, delivery = self._load_delivery(session, delivery_id)
            self.access.require_channels([delivery.channel], "retry deliveries")
            if delivery.state != DeliveryState.FAILED:
                raise StateError("retry_state", id=delivery_id, dstate=delivery.state)
            if post.state == PostState.CANCELLED:
                raise StateError("post_cancelled", id=post.id)
            before = _snapshot(post, [delivery])
            delivery_states.move(delivery, delivery_states.RETRY)
            delivery.next_attempt_at = now
            delivery.attempts = 0
            delivery.last_error_class = delivery.last_error_code = None
            delivery.last_error_message = None
            delivery.updated_at = now
            session.add(delivery)
            if post.state == PostState.DONE:
                post.state = PostState.SCHEDULED
                post.updated_at = now
                session.add(post)
            session.flush()
            _audit(
                session,
                self.access,
                "retry",
                post,
                before,
                _snapshot(post, [delivery]),
                now,
                detail=f"delivery {delivery_id} ({delivery.channel})",
            )
            return Outcome([post])

    def resolve_review(
        self, delivery_id: int, *, published: bool, permalink: str | None = None
    ) -> Outcome:
        """Settle a ``needs_review`` delivery after a person looked at the Page/OA.

        ``published=True`` records it as published (with the permalink they found);
        ``published=False`` sends it again now.
        """
        now = self.clock()
        with session_scope(self.engine) as session:
            post, delivery = self._load_delivery(session, delivery_id)
            self.access.require(Role.APPROVER, "settle deliveries that need review")
            self.access.require_channels([delivery.channel], "settle deliveries")
            if delivery.state != DeliveryState.NEEDS_REVIEW:
                raise StateError("review_state", id=delivery_id, dstate=delivery.state)
            before = _snapshot(post, [delivery])
            if published:
                if permalink and urlsplit(permalink).scheme not in ("http", "https"):
                    raise ValidationError("not_http_url", field="permalink", url=permalink)
                delivery_states.move(delivery, delivery_states.MARK_PUBLISHED)
                delivery.permalink = permalink or delivery.permalink
                delivery.published_at = delivery.published_at or now
                delivery.next_attempt_at = None
            else:
                delivery_states.move(delivery, delivery_states.MARK_NOT_PUBLISHED)
                delivery.next_attempt_at = now
                delivery.attempts = 0
                if post.state == PostState.DONE:
                    post.state = PostState.SCHEDULED
            delivery.last_error_class = delivery.last_error_code = None
            delivery.last_error_message = None
            delivery.updated_at = now
            post.updated_at = now
            session.add_all([delivery, post])
            session.flush()
            action = "mark_published" if published else "mark_not_published"
            _audit(
                session,
                self.access,
                action,
                post,
                before,
                _snapshot(post, [delivery]),
                now,
                detail=f"delivery {delivery_id} ({delivery.channel})",
            )
            self.settle(session, post.id or 0)
            return Outcome([post])

    def settle(self, session: Session, post_id: int) -> None:
        """Mark a scheduled post done once every delivery is settled."""
        post = session.get(Post, post_id, with_for_update=True)
        if post is not None:
            self.settle_loaded(session, [(post, _deliveries(session, post_id))])

    def settle_loaded(
        self, session: Session, loaded: Iterable[tuple[Post, Sequence[Delivery]]]
    ) -> None:
        """:meth:`settle` on rows the caller has loaded as ORM objects.

        The caller holds each post's row lock in this transaction, and each post comes with
        all of its deliveries as they stand in it. No reads; the audit rows of all the posts
        are written in one statement.
        """
        rows: list[dict[str, Any]] = []
        for post in self._settling(loaded, self.clock(), rows):
            session.add(post)
        audit_log.write(session, rows)

    def settle_rows(
        self, session: Session, loaded: Iterable[tuple[PostRow, Sequence[DeliveryRow]]]
    ) -> None:
        """:meth:`settle_loaded` on plain rows (the dispatcher's group of results).

        The dispatcher reads and writes its hot rows as plain columns: building ORM objects
        was most of the cost of recording a burst. The posts that are done are written with
        one statement, then their audit rows with another.
        """
        rows: list[dict[str, Any]] = []
        done = list(self._settling(loaded, self.clock(), rows))
        if done:
            table = Post.__table__  # type: ignore[attr-defined]  # Core: an executemany
            session.execute(
                update(table)
                .where(table.c.id == bindparam("post_id"))
                .values(state=bindparam("new_state"), updated_at=bindparam("now")),
                [{"post_id": p.id, "new_state": p.state, "now": p.updated_at} for p in done],
            )
        audit_log.write(session, rows)

    def _settling(
        self,
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
                self._move(post, PostState.DONE, "done", now, deliveries, audit=audit)
                yield post

    # ------------------------------------------------------------------ reads

    def get(self, post_id: int) -> tuple[Post, list[Delivery]]:
        """A post and its deliveries."""
        with session_scope(self.engine) as session:
            post = self._load(session, post_id)
            deliveries = _deliveries(session, post_id)
            self._visible(post_id, [d.channel for d in deliveries])
            return post, deliveries

    def audit_trail(self, post_id: int) -> list[AuditEvent]:
        """The audit events of one post, oldest first."""
        with session_scope(self.engine) as session:
            self._load(session, post_id)
            self._visible(post_id, [d.channel for d in _deliveries(session, post_id)])
            return list(
                session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.post_id == post_id)
                    .order_by(col(AuditEvent.id))
                ).all()
            )

    # ------------------------------------------------------------------ internals

    def _allowed(self, session: Session, post: Post, what: str, role: Role | None = None) -> None:
        """Refuse ``what`` on ``post`` unless the access has ``role`` and all its channels."""
        if not self.access.enforced:
            return
        if role is not None:
            self.access.require(role, what)
        self.access.require_channels([d.channel for d in _deliveries(session, post.id or 0)], what)

    def _visible(self, post_id: int, channels: list[str]) -> None:
        if not self.access.sees_any(channels):
            raise NotFound("post_hidden", id=post_id, user=self.actor)

    def _authors(self, session: Session, post: Post) -> set[str]:
        """Who wrote ``post``: its author, and whoever really acted when he was acted for."""
        real = session.exec(
            select(AuditEvent.real_actor).where(
                AuditEvent.post_id == post.id,
                AuditEvent.action == "create",
                col(AuditEvent.real_actor).is_not(None),
            )
        ).all()
        return {fold(post.author), *(fold(r) for r in real if r)}

    def _load_delivery(self, session: Session, delivery_id: int) -> tuple[Post, Delivery]:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise NotFound("delivery_missing", id=delivery_id)
        post = self._load(session, delivery.post_id, lock=True)
        session.refresh(delivery, with_for_update=True)
        return post, delivery

    def _load(self, session: Session, post_id: int, *, lock: bool = False) -> Post:
        query = select(Post).where(Post.id == post_id)
        if lock:
            query = query.with_for_update()
        post = session.exec(query).first()
        if post is None:
            raise NotFound("post_missing", id=post_id)
        return post

    def _insert(
        self,
        session: Session,
        request: PostInput,
        channels: list[str],
        media_ids: list[int],
        at: datetime | None,
        series: str | None,
        now: datetime,
    ) -> Post:
        post = Post(
            title=request.title,
            text=request.text,
            link=request.link,
            image_ids=media_ids,
            infographic=request.infographic,
            author=self.actor,
            campaign=request.campaign,
            tags=list(request.tags),
            state=PostState.DRAFT,
            scheduled_at=at.astimezone(UTC) if at else None,
            fingerprint=fingerprint(request.text),
            search_text=search_text(request.title, request.text, self.actor),
            series_id=series,
            source=request.source,
            created_at=now,
            updated_at=now,
        )
        session.add(post)
        session.flush()
        deliveries = []
        for channel in channels:
            delivery = _new_delivery(post, channel, now)
            delivery.text_variant = request.variants.get(channel)
            session.add(delivery)
            deliveries.append(delivery)
        session.flush()
        _audit(session, self.access, "create", post, None, _snapshot(post, deliveries), now)
        return post

    def _approve(
        self, session: Session, post: Post, comment: str | None, now: datetime
    ) -> list[str]:
        if post.state != PostState.IN_REVIEW:
            raise StateError("approve_state", id=post.id, state=post.state)
        if self.directory.office.require_second_approver and (
            {self.access.actor, self.access.real} & self._authors(session, post)
        ):
            raise AccessDenied("own_post", id=post.id, user=self.access.real)
        post.approved_by = self.actor
        post.review_comment = comment
        warnings: list[str] = []
        if post.scheduled_at is None:
            self._transition(session, post, PostState.APPROVED, "approve", now, detail=comment)
            return warnings
        if post.scheduled_at < now:
            warnings.append(
                Notice(
                    "warn_due_now",
                    id=post.id,
                    when=local_text(post.scheduled_at, self.directory.office.timezone),
                )
            )
        self._transition(session, post, PostState.SCHEDULED, "approve", now, detail=comment)
        _arm_deliveries(session, post, now)
        return warnings

    def _transition(
        self,
        session: Session,
        post: Post,
        target: PostState,
        action: str,
        now: datetime,
        *,
        detail: str | None = None,
        deliveries: Sequence[Delivery] | None = None,
        audit: list[dict[str, Any]] | None = None,
    ) -> None:
        """Change the post's state (if the rules allow it) and audit the change.

        ``audit``: collect the audit row there instead of writing it (the caller writes many).
        """
        if deliveries is None:
            deliveries = _deliveries(session, post.id or 0)
        rows: list[dict[str, Any]] = [] if audit is None else audit
        self._move(post, target, action, now, deliveries, detail=detail, audit=rows)
        if target in (PostState.DRAFT, PostState.IN_REVIEW):
            # Disarming changes only due times, which the snapshot leaves out.
            _disarm_deliveries(session, post, now)
        session.add(post)
        if audit is None:
            audit_log.write(session, rows)

    def _move(
        self,
        post: Any,
        target: PostState,
        action: str,
        now: datetime,
        deliveries: Sequence[Any],
        *,
        detail: str | None = None,
        audit: list[dict[str, Any]] | None = None,
    ) -> None:
        """The one place a post's state changes: check the rule, change it, audit it.

        ``post`` is a Post or a plain row with its columns (the dispatcher's); the caller
        writes it. ``audit``: collect the audit row there instead of writing it.
        """
        allowed = _TRANSITIONS.get(PostState(post.state), ())
        if target not in allowed:
            raise StateError("transition", id=post.id, state=post.state, target=target)
        before = _snapshot(post, deliveries)
        post.state = target
        post.updated_at = now
        after = _snapshot(post, deliveries)
        _audit(None, self.access, action, post, before, after, now, detail=detail, into=audit)

    def _warnings(
        self, session: Session, post: Post | _Unsaved, channels: Iterable[str], now: datetime
    ) -> list[str]:
        """Things worth a second look that do not stop the post."""
        tz = self.directory.office.timezone
        warnings: list[str] = []
        channels = list(channels)
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
                warnings.append(Notice("warn_same_queued", channel=channel, id=other_id))
            elif (
                d_state == DeliveryState.PUBLISHED
                and published_at is not None
                and published_at >= now - DUPLICATE_LOOKBACK
            ):
                warnings.append(
                    Notice(
                        "warn_same_published",
                        channel=channel,
                        when=local_text(published_at, tz),
                        id=other_id,
                    )
                )
        if post.scheduled_at is not None:
            spacing = self.directory.office.min_spacing
            near = session.exec(
                select(Post.id, Post.scheduled_at, Delivery.channel)
                .join(Delivery, col(Delivery.post_id) == col(Post.id))
                .where(Post.id != post.id)
                .where(col(Delivery.channel).in_(channels))
                .where(col(Delivery.state) != DeliveryState.CANCELLED)
                .where(col(Post.state) != PostState.CANCELLED)
                .where(col(Post.scheduled_at) > post.scheduled_at - spacing)
                .where(col(Post.scheduled_at) < post.scheduled_at + spacing)
            ).all()
            for other_id, other_at, channel in near:
                warnings.append(
                    Notice(
                        "warn_spacing",
                        channel=channel,
                        id=other_id,
                        when=local_text(other_at, tz),
                        n=int(spacing.total_seconds() // 60),
                    )
                )
            zalo = night_broadcasts(self.directory, channels, post.scheduled_at)
            if zalo:
                warnings.append(Notice("warn_zalo_night", channels=zalo))
        return warnings


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


@dataclass(frozen=True)
class _Unsaved:
    """What :meth:`Queue._warnings` reads of a post, for one not written yet (a preview)."""

    fingerprint: str
    scheduled_at: datetime | None
    series_id: str | None = None
    id: int | None = None


_TRANSITIONS: dict[PostState, tuple[PostState, ...]] = {
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


def _check_text(channel: str, kind: str, text: str, title: str | None, images: int) -> None:
    limits = TEXT_LIMITS[kind]
    if limits.text is not None and length(text) > limits.text:
        raise ValidationError(
            "text_too_long",
            field="text",
            n=length(text),
            channel=channel,
            kind=kind,
            limit=limits.text,
        )
    if limits.title_required and not title:
        raise ValidationError(
            "title_required", field="title", channel=channel, kind=kind, limit=limits.title
        )
    if title and limits.title is not None and length(title) > limits.title:
        raise ValidationError(
            "title_too_long",
            field="title",
            n=length(title),
            channel=channel,
            kind=kind,
            limit=limits.title,
        )
    if images > limits.max_images:
        raise ValidationError(
            "too_many_images",
            field="image",
            n=images,
            channel=channel,
            kind=kind,
            limit=limits.max_images,
        )


def _inspect(image: ImageInput) -> media.ImageInfo:
    if len(image.data) > MAX_SOURCE_IMAGE_BYTES:
        raise ValidationError(
            "image_too_big",
            field="image",
            name=image.filename,
            mb=len(image.data) / 1_048_576,
            limit=MAX_SOURCE_IMAGE_BYTES // 1_048_576,
        )
    try:
        return media.inspect_image(image.data, name=image.filename)
    except ValidationError as exc:
        raise exc.located(field="image") from None


def _check_future(at: datetime, now: datetime, directory: ChannelDirectory) -> None:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the queue")
    if at < now - timedelta(seconds=NOW_TOLERANCE_SECONDS):
        tz = directory.office.timezone
        raise ValidationError(
            "time_past", field="at", when=local_text(at, tz), now=local_text(now, tz)
        )


def _check_repeat(at: datetime | None, repeat: Repeat, directory: ChannelDirectory) -> None:
    if at is None:
        raise ValidationError("repeat_no_start", field="at")
    if (repeat.every_days is None) == (not repeat.weekdays):
        raise ValidationError("repeat_rule", field="repeat")
    if repeat.every_days is not None and repeat.every_days < 1:
        raise ValidationError("repeat_days", field="repeat")
    if any(d not in range(7) for d in repeat.weekdays):
        raise ValidationError("repeat_weekdays", field="repeat")
    first_day = at.astimezone(directory.office.timezone).date()
    if repeat.until < first_day:
        raise ValidationError("repeat_until_before", field="until", date=repeat.until.isoformat())
    if len(_occurrences(at, repeat, directory)) > MAX_OCCURRENCES:
        raise ValidationError("repeat_too_many", field="until", n=MAX_OCCURRENCES)


def _occurrences(
    at: datetime | None, repeat: Repeat | None, directory: ChannelDirectory
) -> list[datetime | None]:
    """Each occurrence's time: the same wall-clock time in the office's zone, as UTC."""
    if at is None or repeat is None:
        return [at]
    tz = directory.office.timezone
    local = at.astimezone(tz)
    times: list[datetime | None] = []
    day = local.date()
    while day <= repeat.until and len(times) <= MAX_OCCURRENCES:
        if repeat.every_days is not None:
            offset = (day - local.date()).days
            take = offset % repeat.every_days == 0
        else:
            take = day.weekday() in repeat.weekdays
        if take:
            times.append(datetime.combine(day, local.timetz()).astimezone(UTC))
        day += timedelta(days=1)
    return times


def _same_series(session: Session, post_id: int, series_id: str) -> bool:
    other = session.get(Post, post_id)
    return other is not None and other.series_id == series_id


def _new_delivery(post: Post, channel: str, now: datetime) -> Delivery:
    assert post.id is not None
    return Delivery(post_id=post.id, channel=channel, state=DeliveryState.PENDING, updated_at=now)


def _deliveries(session: Session, post_id: int) -> list[Delivery]:
    return list(
        session.exec(
            select(Delivery).where(Delivery.post_id == post_id).order_by(col(Delivery.id))
        ).all()
    )


def _arm_deliveries(session: Session, post: Post, now: datetime) -> None:
    """Make the post's waiting deliveries due at its time (the dispatcher claims them then)."""
    session.execute(
        update(Delivery)
        .where(col(Delivery.post_id) == post.id)
        .where(col(Delivery.state) == DeliveryState.PENDING)
        .values(next_attempt_at=post.scheduled_at, updated_at=now)
    )


def _disarm_deliveries(session: Session, post: Post, now: datetime) -> None:
    session.execute(
        update(Delivery)
        .where(col(Delivery.post_id) == post.id)
        .where(col(Delivery.state) == DeliveryState.PENDING)
        .values(next_attempt_at=None, updated_at=now)
    )


def _store_image(session: Session, image: ImageInput, now: datetime) -> int:
    """Keep the image in the database (deduplicated by content) and return its id."""
    digest = hashlib.sha256(image.data).hexdigest()
    existing = session.exec(select(MediaFile).where(MediaFile.sha256 == digest)).first()
    if existing is not None:
        assert existing.id is not None
        return existing.id
    info = media.inspect_image(image.data, name=image.filename)
    row = MediaFile(
        sha256=digest,
        filename=image.filename,
        mime=info.mime,
        width=info.width,
        height=info.height,
        size_bytes=len(image.data),
        data=image.data,
        created_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def _image_input(session: Session, media_id: int) -> ImageInput:
    row = session.get(MediaFile, media_id)
    assert row is not None
    return ImageInput(filename=row.filename, data=row.data)


def _snapshot(post: Post, deliveries: Sequence[Delivery]) -> dict[str, Any]:
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


def _audit(
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
