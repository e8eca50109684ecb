"""The database tables. The database is the single source of truth: every process
(TUI, CLI, daemons) reads and writes these rows and nothing else.

All datetimes are timezone-aware and stored in UTC (SQLModel maps ``datetime`` to a
UTC-aware column type); they are converted to the office's time zone only for display.
State names live here as ``StrEnum``s; the rules for changing them live in
:mod:`content.queue` (posts) and the dispatcher (deliveries).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, MetaData, Text, UniqueConstraint
from sqlalchemy import text as sa_text
from sqlmodel import Field, SQLModel

from content.search import search_text

# Stable constraint names, so Alembic's batch mode on SQLite can find them again.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class PostState(StrEnum):
    """Where a post is in its life. Only :mod:`content.queue` moves a post between these."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"  # approved but not yet given a time
    SCHEDULED = "scheduled"  # approved and timed: its deliveries are due
    DONE = "done"  # every delivery settled (published, failed or reviewed)
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    """One post on one channel."""

    PENDING = "pending"  # waiting for its time (next_attempt_at) or for the post's approval
    SENDING = "sending"  # claimed by a daemon; the outcome is not known yet
    PUBLISHED = "published"
    FAILED = "failed"
    NEEDS_REVIEW = "needs_review"  # outcome unknown after a crash: a person must look
    CANCELLED = "cancelled"


#: Delivery states from which nothing more will happen.
SETTLED_DELIVERY_STATES = frozenset(
    {
        DeliveryState.PUBLISHED,
        DeliveryState.FAILED,
        DeliveryState.NEEDS_REVIEW,
        DeliveryState.CANCELLED,
    }
)


#: A calendar draft's ``source`` (``calendar:YEAR:UNIT:NAME``, content.calendar_campaigns)
#: is unique: the daemon and an officer preparing the same entry at once make one draft.
CALENDAR_SOURCE = "source LIKE 'calendar:%'"


class Post(SQLModel, table=True):
    """What an officer wants published, on one or more channels."""

    __table_args__ = (
        Index(
            "ux_post_calendar_source",
            "source",
            unique=True,
            sqlite_where=sa_text(CALENDAR_SOURCE),
            postgresql_where=sa_text(CALENDAR_SOURCE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str | None = Field(default=None, max_length=500)
    text: str
    link: str | None = Field(default=None, max_length=2000)
    #: MediaFile ids in display order.
    image_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: ``{"template": name, "fields": {...}}`` when the post carries a rendered infographic.
    infographic: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    author: str = Field(max_length=200)
    campaign: str | None = Field(default=None, max_length=200, index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=PostState.DRAFT, max_length=20, index=True)
    scheduled_at: datetime | None = Field(default=None, index=True)
    #: sha256 of the NFC-normalised, whitespace-collapsed text: duplicate detection.
    fingerprint: str = Field(max_length=64, index=True)
    #: Posts made from one repeat rule share this id; each occurrence is edited alone.
    series_id: str | None = Field(default=None, max_length=36, index=True)
    approved_by: str | None = Field(default=None, max_length=200)
    review_comment: str | None = None
    source: str | None = Field(default=None, max_length=200)  # e.g. "feed:3", "csv:march.csv"
    #: Title, text and author without case or diacritics (content.search): what searches
    #: compare. The queue writes it with the text; the column default fills it for rows
    #: inserted in bulk without the ORM (benchmarks, migrations).
    search_text: str = Field(
        default="",
        sa_column=Column(
            Text, nullable=False, server_default="", default=lambda ctx: _search_default(ctx)
        ),
    )
    created_at: datetime
    updated_at: datetime


def _search_default(context: Any) -> str:
    """``Post.search_text`` of a row inserted without it, from the row's own values."""
    row = context.get_current_parameters()
    return search_text(row.get("title"), row.get("text"), row.get("author"))


class Delivery(SQLModel, table=True):
    """One post on one channel: succeeds or fails on its own."""

    __table_args__ = (
        UniqueConstraint("post_id", "channel"),
        # The dispatcher's claim: state='pending' AND next_attempt_at <= now.
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    channel: str = Field(max_length=100, index=True)
    #: Optional per-channel text that replaces the post's text on this channel.
    text_variant: str | None = None
    state: str = Field(default=DeliveryState.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: datetime | None = None
    #: A step in progress on the platform (e.g. a Zalo article job token awaiting verify).
    pending_step: str | None = Field(default=None, max_length=50)
    pending_ref: str | None = Field(default=None, max_length=500)
    last_error_class: str | None = Field(default=None, max_length=50)
    last_error_code: str | None = Field(default=None, max_length=50)
    last_error_message: str | None = None
    remote_id: str | None = Field(default=None, max_length=200)
    permalink: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = None
    updated_at: datetime


class DaemonHeartbeat(SQLModel, table=True):
    """A running daemon's sign of life, written every poll.

    Several daemons share one PostgreSQL database: the claims of a daemon whose heartbeat
    went silent are taken back at once instead of after the claim lease.
    """

    worker: str = Field(primary_key=True, max_length=200)
    started_at: datetime
    seen_at: datetime = Field(index=True)


class MediaFile(SQLModel, table=True):
    """An image attached to a post, kept in the database so every daemon host sees it."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    filename: str = Field(max_length=500)
    mime: str = Field(max_length=100)
    width: int
    height: int
    size_bytes: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


class MetricSample(SQLModel, table=True):
    """One engagement figure of one delivery at one moment (a time series)."""

    __table_args__ = (Index("ix_metricsample_series", "delivery_id", "name", "collected_at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id")
    collected_at: datetime
    name: str = Field(max_length=100)
    value: float


class FollowerSample(SQLModel, table=True):
    """A channel's follower count at one moment (a Page's ``followers_count``, an OA's
    ``num_follower``), collected about once a day: the ranking divides by the count known
    at a span's end (:mod:`content.evaluation`)."""

    __table_args__ = (Index("ix_followersample_series", "channel", "collected_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=100)
    collected_at: datetime
    followers: int


class FeedSource(SQLModel, table=True):
    """An RSS/Atom feed polled for items that become drafts."""

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000, unique=True)
    title: str | None = Field(default=None, max_length=500)
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    template: str | None = Field(default=None, max_length=100)
    make_drafts: bool = True
    max_new_per_poll: int = 5
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=200)
    last_polled_at: datetime | None = None
    last_error: str | None = None
    active: bool = True
    created_at: datetime


class FeedItem(SQLModel, table=True):
    """One entry seen in a feed; the dedupe key keeps it from being imported twice."""

    __table_args__ = (UniqueConstraint("source_id", "dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="feedsource.id", index=True)
    dedupe_key: str = Field(max_length=2000)
    title: str | None = Field(default=None, max_length=1000)
    link: str | None = Field(default=None, max_length=2000)
    summary: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime
    state: str = Field(default="new", max_length=20)  # new | drafted | skipped | seen
    post_id: int | None = Field(default=None, foreign_key="post.id")


class Credential(SQLModel, table=True):
    """Rotating tokens of a channel (Zalo), encrypted at rest."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=100, unique=True)
    access_token_enc: str | None = None
    refresh_token_enc: str | None = None
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    #: The refresh token this pair replaced, kept for forensics.
    previous_refresh_enc: str | None = None
    #: Bumped on every rotation: a writer that lost the race sees it changed.
    version: int = 0
    updated_at: datetime


class KeyFingerprint(SQLModel, table=True):
    """Which encryption key the database's secrets were written with (never the key itself).

    The first process to use a key records its fingerprint (SHA-256, first 16 hex digits);
    a process holding another key refuses to start instead of failing later on decryption.
    """

    #: What the key protects: ``credential`` (the Zalo tokens).
    purpose: str = Field(primary_key=True, max_length=50)
    fingerprint: str = Field(max_length=64)
    recorded_at: datetime
    #: The worker (host:pid) or user that recorded it, for the refusal message.
    recorded_by: str | None = Field(default=None, max_length=200)


class AuditEvent(SQLModel, table=True):
    """Append-only record of who changed what, when.

    The database refuses UPDATE and DELETE on it (triggers, migration 0005), and each row is
    chained to the one before by ``seq`` and ``hash``; rows go in only through
    :func:`content.audit.write`.
    """

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=50)
    post_id: int | None = Field(default=None, index=True)
    delivery_id: int | None = None
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    detail: str | None = None
    #: The account that really acted, when it acted for ``actor`` (an admin's ``--as``).
    real_actor: str | None = Field(default=None, max_length=200)
    #: The operating-system user of the process that wrote the row (None for the web face).
    os_user: str | None = Field(default=None, max_length=200)
    #: The row's place in the hash chain: 1, 2, 3, ... with no gaps (see content.audit).
    seq: int | None = Field(default=None, unique=True, nullable=False)
    #: SHA-256 (hex) of the previous row's hash and this row (content.audit.chain_hash).
    hash: str | None = Field(default=None, max_length=64, nullable=False)


class Role(StrEnum):
    """What an account may do; each role may also do everything the ones before it may."""

    AUTHOR = "author"  # writes and submits posts for his units' channels
    APPROVER = "approver"  # also approves or sends back his units' posts
    ADMIN = "admin"  # also manages accounts, acts for others (--as), sees every channel


class Account(SQLModel, table=True):
    """A person who may use Loa. Identity comes from the OS login or a web sign-in."""

    #: NFC, case-folded (see :func:`content.accounts.normalize_name`).
    name: str = Field(primary_key=True, max_length=100)
    role: str = Field(max_length=20)
    #: Channel groups (or channel ids) from channels.toml; empty means every channel.
    units: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    #: argon2 hash for the web sign-in; None until ``loa users passwd`` sets one.
    password_hash: str | None = Field(default=None, max_length=200)
    created_at: datetime
    updated_at: datetime


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    token_hash: str = Field(primary_key=True, max_length=64)
    account: str = Field(index=True, max_length=100)
    created_at: datetime
    last_seen_at: datetime


class ChannelState(SQLModel, table=True):
    """Runtime state of a channel shared by every daemon: paused on auth errors, last success."""

    channel: str = Field(primary_key=True, max_length=100)
    paused: bool = False
    paused_reason: str | None = None
    paused_at: datetime | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    #: Rate-limit block announced by the platform: no calls before this time.
    blocked_until: datetime | None = None
    updated_at: datetime


class JobRun(SQLModel, table=True):
    """One-off work done once across all daemons (e.g. the weekly report for 2026-W48)."""

    __table_args__ = (UniqueConstraint("job", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=100)
    key: str = Field(max_length=200)
    started_at: datetime
    finished_at: datetime | None = None
    worker: str = Field(max_length=200)
    detail: str | None = None


class Alert(SQLModel, table=True):
    """Something a person must act on; mailed in hourly digests, never one mail per event."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=50)  # channel_paused | delivery_failed | needs_review
    channel: str | None = Field(default=None, max_length=100)
    post_id: int | None = None
    delivery_id: int | None = None
    message: str
    advice: str | None = None
    sent_at: datetime | None = Field(default=None, index=True)


# --- the citizens' inbox (rules in content.inbox) ------------------------------------------


class ThreadState(StrEnum):
    """Where a citizen's thread is. Only :mod:`content.inbox` moves a thread between these."""

    OPEN = "open"  # the citizen wrote; nobody has taken it yet
    ASSIGNED = "assigned"  # a unit or an officer has it
    ANSWERED = "answered"  # the office (or the Page/OA admin natively) answered last
    CLOSED = "closed"


class ThreadKind(StrEnum):
    """Which conversation a thread is: each platform identifies a citizen its own way."""

    ZALO_CHAT = "zalo_chat"  # messages to a Zalo OA (the citizen's UID is per OA)
    MESSENGER = "messenger"  # Messenger messages to a Page (the PSID is per Page)
    COMMENTS = "comments"  # comments under a Page's posts (the commenter's id)


class InboxThread(SQLModel, table=True):
    """One citizen on one channel (and one kind of conversation): his messages and ours.

    Personal data is sealed (:class:`content.sealed.Sealer`): the citizen's platform id, name
    and submitted details; ``citizen_index`` is a keyed hash of the id, to find the thread.
    """

    __table_args__ = (
        UniqueConstraint("channel", "kind", "citizen_index"),
        Index("ix_inboxthread_listing", "state", "channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=100, index=True)
    kind: str = Field(max_length=20)
    citizen_index: str = Field(max_length=64)
    #: Another id of the same person (Zalo's ``user_id_by_app``), for withdrawals naming it.
    citizen_alt_index: str | None = Field(default=None, max_length=64, index=True)
    citizen_ref_enc: str | None = None
    citizen_name_enc: str | None = None
    #: What the citizen submitted (Zalo's info form: phone, address...), sealed JSON.
    citizen_info_enc: str | None = None
    state: str = Field(default=ThreadState.OPEN, max_length=20)
    #: The channel group (or channel) that handles the thread.
    unit: str | None = Field(default=None, max_length=100)
    assignee: str | None = Field(default=None, max_length=100, index=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    updated_at: datetime
    first_inbound_at: datetime | None = None
    last_inbound_at: datetime | None = None
    last_outbound_at: datetime | None = None
    #: The citizen's last interaction of any kind (Zalo counts a follow or a tap on
    #: "Nhắn tin" too): the platform's reply window runs from it.
    last_interaction_at: datetime | None = None
    #: The oldest message of the citizen not answered yet; None when nothing waits.
    waiting_since: datetime | None = Field(default=None, index=True)
    first_response_at: datetime | None = None
    withdrawn_at: datetime | None = None
    purged_at: datetime | None = None
    #: Zalo says the citizen is under 18 (``is_sensitive`` in his profile): a triage flag
    #: that also restricts who may export his attachments.
    minor: bool = Field(default=False)
    #: When Loa last asked the platform for the citizen's profile (None: never).
    profile_checked_at: datetime | None = None


class InboxMessage(SQLModel, table=True):
    """One message in a thread, in (from the citizen) or out (from the office)."""

    __table_args__ = (
        # Each platform message once per channel, however it arrived (webhook retry,
        # backfill, echo of our own reply). NULL for a reply not yet accepted.
        UniqueConstraint("channel", "platform_id"),
        Index("ix_inboxmessage_thread", "thread_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="inboxthread.id")
    channel: str = Field(max_length=100)
    platform_id: str | None = Field(default=None, max_length=200)
    direction: str = Field(max_length=3)  # in | out
    #: text, image, location, file, sticker, audio, video, link, info...
    kind: str = Field(default="text", max_length=20)
    occurred_at: datetime = Field(index=True)
    received_at: datetime
    text_enc: str | None = None
    #: Attachment references (URLs, coordinates, file names), sealed JSON.
    attachments_enc: str | None = None
    #: The platform id this message answers or quotes (a comment's parent, a quoted message).
    reply_to: str | None = Field(default=None, max_length=200)
    #: Comments: the Page post the comment is under.
    post_ref: str | None = Field(default=None, max_length=200)
    #: The officer who sent an outbound message through Loa (None: the citizen, or natively).
    author: str | None = Field(default=None, max_length=100)
    source: str = Field(default="webhook", max_length=20)  # webhook | backfill | loa | echo
    #: Outbound: message | public | private (a comment answered publicly or privately).
    reply_mode: str | None = Field(default=None, max_length=20)
    #: received (in) | sending | sent | unknown | refused | failed (out).
    state: str = Field(default="received", max_length=20)
    error_code: str | None = Field(default=None, max_length=50)
    error_message: str | None = None
    #: Inbound comment: when its one private reply was sent.
    private_replied_at: datetime | None = None
    purged_at: datetime | None = None
    #: Attachments still to download (their URLs expire): the fetcher's work list.
    media_pending: bool = Field(default=False, index=True)
    #: A comment the citizen edited: his earlier texts, oldest first, sealed JSON
    #: (``[{"at": ISO, "text": ...}]``); ``text_enc`` holds the newest.
    edits_enc: str | None = None
    edited_at: datetime | None = None
    #: A comment removed (``remove``) or hidden (``hide``) on the platform, and when.
    removed: str | None = Field(default=None, max_length=10)
    removed_at: datetime | None = None


class InboxAttachment(SQLModel, table=True):
    """One attachment of a citizen's message, downloaded on arrival (platform URLs expire).

    ``state``: ``stored`` (``data_enc`` holds the bytes, sealed like all personal data),
    ``failed`` (a try that may succeed later: ``tries``), ``expired`` (the platform no longer
    serves it), ``refused`` (too large, or a type Loa does not keep), ``purged``.
    """

    __table_args__ = (UniqueConstraint("message_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="inboxmessage.id")
    thread_id: int = Field(index=True)
    #: Its place in the message's attachment list.
    position: int = 0
    #: The platform's type: image, gif, file, audio, video.
    kind: str = Field(max_length=20)
    state: str = Field(max_length=20)
    tries: int = 0
    #: What the bytes are (sniffed, not the platform's word): image/jpeg, application/pdf...
    mime: str | None = Field(default=None, max_length=100)
    size: int = 0
    sha256: str | None = Field(default=None, max_length=64)
    data_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Why it is not stored (``http_404``, ``too_large``, ``type``, ``timeout``...).
    problem: str | None = Field(default=None, max_length=100)
    fetched_at: datetime | None = None
    purged_at: datetime | None = None


class InboundEvent(SQLModel, table=True):
    """A webhook event as received, stored before it is acknowledged and processed after.

    ``dedupe_key`` (a hash of the platform's event id) makes a retried delivery a no-op;
    the body is sealed, and dropped once processed (the messages hold what is kept).
    """

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    channel: str | None = Field(default=None, max_length=100)
    dedupe_key: str = Field(max_length=64, unique=True)
    received_at: datetime = Field(index=True)
    occurred_at: datetime | None = None
    body_enc: str | None = None
    state: str = Field(default="new", max_length=20, index=True)  # new | done | failed
    attempts: int = 0
    error: str | None = None
    processed_at: datetime | None = None


class InboxCursor(SQLModel, table=True):
    """How far back a channel's conversations are known to be complete (for backfill)."""

    channel: str = Field(primary_key=True, max_length=100)
    stream: str = Field(primary_key=True, max_length=20)
    done_until: datetime
    updated_at: datetime
