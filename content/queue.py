"""The queue rules: the only module that changes a post's state.

Every change is validated per channel *before* anything is written, runs in one
transaction, and leaves an :class:`~content.models.AuditEvent` behind. The faces (CLI,
TUI) and the runtime (dispatcher) call these functions; none of them edits a Post row.

Life of a post::

    draft -> in_review -> approved (no time yet) -> scheduled -> done
                 ^  |          \\________________/        |
                 |  v (sent back)                          v
               draft                                   cancelled (from any live state)

:class:`Queue` is the one door; behind it, :mod:`content.queue_input` checks what a person
asks, :mod:`content.queue_rules` holds the table of moves above and the audit of each, and
:mod:`content.queue_read` the reads and the warnings. Their public names are importable
from here too.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from content import audit as audit_log
from content import delivery_states, media
from content.accounts import AccessDenied
from content.db import session_scope
from content.errors import StateError, ValidationError
from content.messages import Notice
from content.models import Delivery, DeliveryState, MediaFile, Post, PostState, Role
from content.queue_input import MAX_OCCURRENCES as MAX_OCCURRENCES
from content.queue_input import MAX_SOURCE_IMAGE_BYTES as MAX_SOURCE_IMAGE_BYTES
from content.queue_input import ImageInput as ImageInput
from content.queue_input import PostInput as PostInput
from content.queue_input import Repeat as Repeat
from content.queue_input import check_future, occurrences, validate
from content.queue_input import fingerprint as fingerprint
from content.queue_read import DUPLICATE_LOOKBACK as DUPLICATE_LOOKBACK
from content.queue_read import ZALO_NIGHT as ZALO_NIGHT
from content.queue_read import Clock as Clock
from content.queue_read import DeliveryRow as DeliveryRow
from content.queue_read import PostRow as PostRow
from content.queue_read import QueueReader as QueueReader
from content.queue_read import (
    Unsaved,
    authors,
    image_input,
    load_delivery,
    load_post,
    warnings_for,
)
from content.queue_read import deliveries as deliveries_of
from content.queue_read import night_broadcasts as night_broadcasts
from content.queue_rules import EDITABLE_STATES as EDITABLE_STATES
from content.queue_rules import LIVE_STATES as LIVE_STATES
from content.queue_rules import (
    arm_deliveries,
    disarm_deliveries,
    move_post,
    set_state,
    settling,
    snapshot,
    write_audit,
)
from content.search import search_text


@dataclass
class Outcome:
    """What a change did: the posts it touched and the warnings the user should see."""

    posts: list[Post]
    warnings: list[str] = field(default_factory=list)

    @property
    def post(self) -> Post:
        """The (first) post touched."""
        return self.posts[0]


class Queue(QueueReader):
    """The queue of one office, acting as one person: its reads (:class:`QueueReader`,
    whose ``access``, ``actor`` and ``clock`` it takes) and every change to a post.
    """

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
                times = occurrences(request.at, request.repeat, self.directory)
                series = str(uuid.uuid4()) if len(times) > 1 else None
                for at in times:
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
            for at in occurrences(request.at, request.repeat, self.directory):
                unsaved = Unsaved(
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

        Raises :class:`ValidationError` naming the field at the first problem (see
        :func:`content.queue_input.validate`).
        """
        return validate(request, self.directory, now or self.clock())

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
            post = load_post(session, post_id, lock=True)
            if post.state not in EDITABLE_STATES:
                raise StateError("edit_state", id=post_id, state=post.state)
            deliveries = deliveries_of(session, post_id)
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
                images=[image_input(session, i) for i in post.image_ids],
                at=None,
            )
            request, new_channels = self.validate(request, now=now)
            self.access.require_channels(new_channels, "write posts")
            before = snapshot(post, deliveries)
            _rewrite(session, post, deliveries, request, new_channels, now)
            moved = set(current_channels) != set(new_channels)
            changed = before["content"] != snapshot(post, [])["content"] or moved
            warnings = self._after_edit(session, post, changed, now)
            after = snapshot(post, deliveries_of(session, post_id))
            write_audit(session, self.access, "edit", post, before, after, now)
            warnings.extend(self._warnings(session, post, new_channels, now))
            return Outcome([post], warnings)

    def _after_edit(self, session: Session, post: Post, changed: bool, now: datetime) -> list[str]:
        """Back to review when an approved post ``changed`` and a second approver is required;
        else a scheduled post's rewritten deliveries armed."""
        if (
            changed
            and self.directory.office.require_second_approver
            and post.state in (PostState.APPROVED, PostState.SCHEDULED)
        ):
            self._transition(session, post, PostState.IN_REVIEW, "return_to_review", now)
            return [Notice("warn_back_to_review", id=post.id)]
        if post.state == PostState.SCHEDULED:
            arm_deliveries(session, post, now)
        return []

    def submit(self, post_id: int) -> Outcome:
        """Send a draft for review."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post = load_post(session, post_id, lock=True)
            self._allowed(session, post, "submit posts")
            self._transition(session, post, PostState.IN_REVIEW, "submit", now)
            return Outcome([post])

    def approve(self, post_id: int, comment: str | None = None) -> Outcome:
        """Approve a post in review; with a time it becomes scheduled."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post = load_post(session, post_id, lock=True)
            self._allowed(session, post, "approve posts", Role.APPROVER)
            warnings = self._approve(session, post, comment, now)
            return Outcome([post], warnings)

    def send_back(self, post_id: int, comment: str) -> Outcome:
        """Return a post in review to its author as a draft, with the reviewer's comment."""
        now = self.clock()
        if not comment.strip():
            raise ValidationError("comment_missing", field="comment")
        with session_scope(self.engine) as session:
            post = load_post(session, post_id, lock=True)
            self._allowed(session, post, "send posts back", Role.APPROVER)
            if post.state != PostState.IN_REVIEW:
                raise StateError("send_back_state", id=post_id, state=post.state)
            post.review_comment = comment.strip()
            self._transition(session, post, PostState.DRAFT, "send_back", now, detail=comment)
            return Outcome([post])

    def schedule(self, post_id: int, at: datetime) -> Outcome:
        """Give a post its time, or move it to another (reschedule)."""
        now = self.clock()
        check_future(at, now, self.directory)
        with session_scope(self.engine) as session:
            post = load_post(session, post_id, lock=True)
            if post.state not in LIVE_STATES:
                raise StateError("schedule_state", id=post_id, state=post.state)
            deliveries = deliveries_of(session, post_id)
            self.access.require_channels([d.channel for d in deliveries], "schedule posts")
            if any(d.state != DeliveryState.PENDING for d in deliveries):
                raise StateError("schedule_sending", id=post_id)
            before = snapshot(post, deliveries)
            post.scheduled_at = at.astimezone(UTC)
            post.updated_at = now
            if post.state == PostState.APPROVED:
                set_state(post, PostState.SCHEDULED, now)
            if post.state == PostState.SCHEDULED:
                arm_deliveries(session, post, now)
            session.add(post)
            session.flush()
            action = "reschedule" if before["scheduled_at"] else "schedule"
            write_audit(session, self.access, action, post, before, snapshot(post, deliveries), now)
            warnings = self._warnings(session, post, [d.channel for d in deliveries], now)
            return Outcome([post], warnings)

    def cancel(self, post_id: int, reason: str | None = None) -> Outcome:
        """Cancel a live post: its waiting deliveries are cancelled; published ones stay."""
        now = self.clock()
        with session_scope(self.engine) as session:
            post = load_post(session, post_id, lock=True)
            if post.state not in LIVE_STATES:
                raise StateError("cancel_state", id=post_id, state=post.state)
            deliveries = deliveries_of(session, post_id)
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
            post, delivery = load_delivery(session, delivery_id)
            self.access.require_channels([delivery.channel], "retry deliveries")
            if delivery.state != DeliveryState.FAILED:
                raise StateError("retry_state", id=delivery_id, dstate=delivery.state)
            if post.state == PostState.CANCELLED:
                raise StateError("post_cancelled", id=post.id)
            before = snapshot(post, [delivery])
            delivery_states.move(delivery, delivery_states.RETRY)
            delivery.next_attempt_at = now
            delivery.attempts = 0
            delivery.last_error_class = delivery.last_error_code = None
            delivery.last_error_message = None
            delivery.updated_at = now
            session.add(delivery)
            if post.state == PostState.DONE:
                set_state(post, PostState.SCHEDULED, now)
                session.add(post)
            self._audit_delivery(session, "retry", post, delivery, before, now)
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
            post, delivery = load_delivery(session, delivery_id)
            self.access.require(Role.APPROVER, "settle deliveries that need review")
            self.access.require_channels([delivery.channel], "settle deliveries")
            if delivery.state != DeliveryState.NEEDS_REVIEW:
                raise StateError("review_state", id=delivery_id, dstate=delivery.state)
            before = snapshot(post, [delivery])
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
                    set_state(post, PostState.SCHEDULED, now)
            delivery.last_error_class = delivery.last_error_code = None
            delivery.last_error_message = None
            delivery.updated_at = now
            post.updated_at = now
            session.add_all([delivery, post])
            session.flush()
            action = "mark_published" if published else "mark_not_published"
            self._audit_delivery(session, action, post, delivery, before, now)
            self.settle(session, post.id or 0)
            return Outcome([post])

    def settle(self, session: Session, post_id: int) -> None:
        """Mark a scheduled post done once every delivery is settled."""
        post = session.get(Post, post_id, with_for_update=True)
        if post is not None:
            self.settle_loaded(session, [(post, deliveries_of(session, post_id))])

    def settle_loaded(
        self, session: Session, loaded: Iterable[tuple[Post, Sequence[Delivery]]]
    ) -> None:
        """:meth:`settle` on rows the caller has loaded as ORM objects.

        The caller holds each post's row lock in this transaction, and each post comes with
        all of its deliveries as they stand in it. No reads; the audit rows of all the posts
        are written in one statement.
        """
        rows: list[dict[str, Any]] = []
        for post in settling(self.access, loaded, self.clock(), rows):
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
        done = list(settling(self.access, loaded, self.clock(), rows))
        if done:
            table = Post.__table__  # type: ignore[attr-defined]  # Core: an executemany
            session.execute(
                update(table)
                .where(table.c.id == bindparam("post_id"))
                .values(state=bindparam("new_state"), updated_at=bindparam("now")),
                [{"post_id": p.id, "new_state": p.state, "now": p.updated_at} for p in done],
            )
        audit_log.write(session, rows)

    # ------------------------------------------------------------------ internals

    def _allowed(self, session: Session, post: Post, what: str, role: Role | None = None) -> None:
        """Refuse ``what`` on ``post`` unless the access has ``role`` and all its channels."""
        if not self.access.enforced:
            return
        if role is not None:
            self.access.require(role, what)
        self.access.require_channels(
            [d.channel for d in deliveries_of(session, post.id or 0)], what
        )

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
        write_audit(session, self.access, "create", post, None, snapshot(post, deliveries), now)
        return post

    def _approve(
        self, session: Session, post: Post, comment: str | None, now: datetime
    ) -> list[str]:
        if post.state != PostState.IN_REVIEW:
            raise StateError("approve_state", id=post.id, state=post.state)
        if self.directory.office.require_second_approver and (
            {self.access.actor, self.access.real} & authors(session, post)
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
                    when=post.scheduled_at.astimezone(self.directory.office.timezone),
                )
            )
        self._transition(session, post, PostState.SCHEDULED, "approve", now, detail=comment)
        arm_deliveries(session, post, now)
        return warnings

    def _audit_delivery(
        self,
        session: Session,
        action: str,
        post: Post,
        delivery: Delivery,
        before: dict[str, Any],
        now: datetime,
    ) -> None:
        """Write what a person did to one delivery (and through it to its post)."""
        session.flush()
        after = snapshot(post, [delivery])
        detail = f"delivery {delivery.id} ({delivery.channel})"
        write_audit(session, self.access, action, post, before, after, now, detail=detail)

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
            deliveries = deliveries_of(session, post.id or 0)
        rows: list[dict[str, Any]] = [] if audit is None else audit
        move_post(self.access, post, target, action, now, deliveries, detail=detail, audit=rows)
        if target in (PostState.DRAFT, PostState.IN_REVIEW):
            # Disarming changes only due times, which the snapshot leaves out.
            disarm_deliveries(session, post, now)
        session.add(post)
        if audit is None:
            audit_log.write(session, rows)

    def _warnings(
        self, session: Session, post: Post | Unsaved, channels: Iterable[str], now: datetime
    ) -> list[str]:
        """Things worth a second look that do not stop the post."""
        return warnings_for(session, self.directory, post, channels, now)


def _new_delivery(post: Post, channel: str, now: datetime) -> Delivery:
    assert post.id is not None
    return Delivery(post_id=post.id, channel=channel, state=DeliveryState.PENDING, updated_at=now)


def _rewrite(
    session: Session,
    post: Post,
    deliveries: list[Delivery],
    request: PostInput,
    channels: list[str],
    now: datetime,
) -> None:
    """Give ``post`` the content of ``request`` (validated) and one waiting delivery per
    channel of ``channels``: the others' are deleted, new ones added."""
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
        if channel not in channels:
            session.delete(delivery)
    for channel in channels:
        delivery = by_channel.get(channel) or _new_delivery(post, channel, now)
        delivery.text_variant = request.variants.get(channel)
        delivery.updated_at = now
        session.add(delivery)
    session.flush()


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
