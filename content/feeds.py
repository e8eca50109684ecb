"""Feed import: RSS/Atom/RDF feeds polled into feed items and, per feed, into drafts.

A poll of one feed runs in three separate steps, so no database transaction is ever open
while a server is slow to answer:

1. fetch (:mod:`content.feeds_fetch`): conditional GET with the stored ETag/Last-Modified,
   a size cap and bounded redirects, or a local file; then parse (:mod:`content.feeds_parse`);
2. record (one short transaction): the feed's validators and error, and one
   :class:`~content.models.FeedItem` per entry not seen before (dedupe key: entry id, else
   link, else normalised title; the unique index settles races between daemons);
3. draft: the feed's oldest ``new`` items, at most ``max_new_per_poll`` per poll, become
   drafts through :class:`~content.queue.Queue` (the only module that writes posts). Each
   item is claimed first (``new`` -> ``drafted`` by a conditional UPDATE), so two daemons
   polling the same feed never draft it twice; its post id is recorded just after the
   queue made the post, and a later poll links a post whose id a crash left unrecorded.

Item states: ``new`` (waiting for a draft, or the feed makes none), ``drafted`` (post_id
set), ``skipped`` (the queue refused it; the reason is in the poll result), ``seen``
(taken as already known by ``mark_seen``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import CursorResult, Engine, Result, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from content.db import session_scope
from content.errors import NotFound, ValidationError
from content.feeds_drafts import draft_request
from content.feeds_fetch import (
    DEFAULT_TIMEOUT,
    MAX_FEED_BYTES,
    Fetched,
    FetchError,
    fetch,
    file_path,
    is_http,
)
from content.feeds_parse import ParsedEntry, ParsedFeed, parse_feed
from content.feeds_utm import UtmSettings, add_utm
from content.models import FeedItem, FeedSource, Post
from content.office import ChannelDirectory
from content.queue import Queue, fingerprint
from content.times import local_iso, utcnow

__all__ = [
    "PollResult",
    "UtmSettings",
    "add_feed",
    "add_utm",
    "feed_json",
    "find_feed",
    "import_source",
    "item_counts",
    "list_feeds",
    "location_of",
    "poll",
]

ITEM_STATES = ("new", "drafted", "skipped", "seen")
#: A larger cap would defeat its purpose (a reviewer flooded after a feed's first poll).
MAX_PER_POLL_LIMIT = 50


@dataclass
class PollResult:
    """What one poll of one feed did."""

    source: FeedSource
    #: Items seen for the first time (stored as FeedItems).
    new: int = 0
    #: Entries already stored by an earlier poll (or repeated within the document).
    duplicate: int = 0
    #: Entries or items that could not be imported or drafted: (title, reason).
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Drafts created by this poll, and their post ids.
    drafted: int = 0
    post_ids: list[int] = field(default_factory=list)
    #: Items marked ``seen`` (``mark_seen``).
    seen: int = 0
    #: Items still waiting for a draft (over the per-poll cap): drafted by later polls.
    pending: int = 0
    #: Why the fetch failed or the document is malformed (also stored as the feed's
    #: last_error); recovered items are imported all the same.
    error: str | None = None
    #: The server answered 304 Not Modified.
    not_modified: bool = False
    #: The queue's warnings about the new drafts (duplicates, spacing).
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON view (``loa feeds import/poll --json``)."""
        return {
            "feed": self.source.id,
            "url": self.source.url,
            "title": self.source.title,
            "new": self.new,
            "duplicate": self.duplicate,
            "skipped": [{"title": t, "reason": r} for t, r in self.skipped],
            "drafted": self.drafted,
            "post_ids": list(self.post_ids),
            "seen": self.seen,
            "pending": self.pending,
            "not_modified": self.not_modified,
            "error": self.error,
            "warnings": list(self.warnings),
        }


# ---------------------------------------------------------------------------------- feeds


def location_of(text: str) -> str:
    """The stored form of a feed location: an http(s) URL as given, a file as a file: URI."""
    value = text.strip()
    if is_http(value):
        return value
    path = file_path(value)
    if path is None and "://" not in value:
        path = Path(value).expanduser()
    if path is None or not path.is_file():
        raise ValidationError("feed_location", field="url", text=text)
    return path.resolve().as_uri()


def add_feed(
    engine: Engine,
    url: str,
    channels: Sequence[str],
    *,
    directory: ChannelDirectory,
    template: str | None = None,
    make_drafts: bool = True,
    max_new_per_poll: int = 5,
    now: datetime | None = None,
) -> FeedSource:
    """Register a feed (an http(s) URL or a file). ``channels`` are channel ids or group names
    of ``directory``; drafts go to them. Raises :class:`ValidationError`, writing nothing."""
    location = location_of(url)
    names = [c.strip() for c in channels if c.strip()]
    directory.expand(names)  # raises, naming the unknown channel
    if make_drafts and not names:
        raise ValidationError("feed_no_channel", field="channel")
    if template is not None:
        _check_template(template)
    if not 1 <= max_new_per_poll <= MAX_PER_POLL_LIMIT:
        raise ValidationError(
            "feed_max_new", field="max_new_per_poll", n=max_new_per_poll, limit=MAX_PER_POLL_LIMIT
        )
    with session_scope(engine) as session:
        existing = session.exec(select(FeedSource).where(FeedSource.url == location)).first()
        if existing is not None:
            raise ValidationError("feed_exists", field="url", url=location, id=existing.id)
        source = FeedSource(
            url=location,
            channels=names,
            template=template,
            make_drafts=make_drafts,
            max_new_per_poll=max_new_per_poll,
            created_at=now or utcnow(),
        )
        session.add(source)
        session.flush()
        return source


def list_feeds(engine: Engine) -> list[FeedSource]:
    """Every feed, in the order they were added."""
    with session_scope(engine) as session:
        return list(session.exec(select(FeedSource).order_by(col(FeedSource.id))).all())


def item_counts(engine: Engine) -> dict[int, dict[str, int]]:
    """Per feed id, how many of its items are in each state."""
    counts: dict[int, dict[str, int]] = {}
    with session_scope(engine) as session:
        rows = session.exec(
            select(FeedItem.source_id, FeedItem.state, func.count()).group_by(
                col(FeedItem.source_id), col(FeedItem.state)
            )
        ).all()
    for source_id, state, count in rows:
        counts.setdefault(source_id, dict.fromkeys(ITEM_STATES, 0))[state] = count
    return counts


def find_feed(engine: Engine, ref: str) -> FeedSource | None:
    """The feed named by ``ref``: its id, its URL or its file path (None if not added)."""
    value = ref.strip()
    with session_scope(engine) as session:
        if value.isdigit():
            return session.get(FeedSource, int(value))
        try:
            location = location_of(value)
        except ValidationError:
            location = value
        return session.exec(select(FeedSource).where(FeedSource.url == location)).first()


def feed_json(source: FeedSource, counts: dict[str, int] | None, tz: ZoneInfo) -> dict[str, Any]:
    """The stable JSON view of a feed (``loa feeds list --json``)."""
    return {
        "id": source.id,
        "url": source.url,
        "title": source.title,
        "channels": list(source.channels),
        "template": source.template,
        "make_drafts": source.make_drafts,
        "max_new_per_poll": source.max_new_per_poll,
        "active": source.active,
        "last_polled_at": local_iso(source.last_polled_at, tz),
        "last_error": source.last_error,
        "items": dict(counts or dict.fromkeys(ITEM_STATES, 0)),
    }


# ---------------------------------------------------------------------------------- polls


def poll(
    engine: Engine,
    queue: Queue,
    source_id: int | None = None,
    *,
    client: httpx.Client | None = None,
    mark_seen: bool = False,
    utm: UtmSettings | bool | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> list[PollResult]:
    """Poll one feed (``source_id``, even if inactive) or every active feed.

    A feed that cannot be fetched or parsed does not stop the others: its error is stored
    on the feed and returned in its result. ``mark_seen`` takes the feed's items as
    already known (no drafts). ``utm`` (True or settings) tags each channel's link.
    """
    with session_scope(engine) as session:
        if source_id is not None:
            one = session.get(FeedSource, source_id)
            if one is None:
                raise NotFound("feed_missing", id=source_id)
            sources = [one]
        else:
            sources = list(
                session.exec(
                    select(FeedSource)
                    .where(col(FeedSource.active).is_(True))
                    .order_by(col(FeedSource.id))
                ).all()
            )
    settings = UtmSettings() if utm is True else (utm or None)
    return [
        _poll_one(
            engine,
            queue,
            source,
            client=client,
            mark_seen=mark_seen,
            utm=settings,
            timeout=timeout,
            max_bytes=max_bytes,
        )
        for source in sources
    ]


def import_source(
    engine: Engine,
    queue: Queue,
    ref: str,
    *,
    channels: Sequence[str] = (),
    template: str | None = None,
    make_drafts: bool = True,
    max_new_per_poll: int = 5,
    mark_seen: bool = False,
    client: httpx.Client | None = None,
    utm: UtmSettings | bool | None = None,
) -> PollResult:
    """Poll the feed named by ``ref`` (an id, URL or file path) once, adding it first (with
    the given channels and options) when it is a URL or file not added yet."""
    source = find_feed(engine, ref)
    if source is None:
        if ref.strip().isdigit():
            raise NotFound("feed_missing", id=ref.strip())
        source = add_feed(
            engine,
            ref,
            channels,
            directory=queue.directory,
            template=template,
            make_drafts=make_drafts,
            max_new_per_poll=max_new_per_poll,
            now=queue.clock(),
        )
    assert source.id is not None
    (result,) = poll(engine, queue, source.id, client=client, mark_seen=mark_seen, utm=utm)
    return result


def _poll_one(
    engine: Engine,
    queue: Queue,
    source: FeedSource,
    *,
    client: httpx.Client | None,
    mark_seen: bool,
    utm: UtmSettings | None,
    timeout: float,
    max_bytes: int,
) -> PollResult:
    assert source.id is not None
    result = PollResult(source=source)
    now = queue.clock()
    fetched: Fetched | None = None
    parsed: ParsedFeed | None = None
    try:
        # Outside any transaction: a slow server must not hold the database.
        fetched = fetch(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            client=client,
            timeout=timeout,
            max_bytes=max_bytes,
        )
    except FetchError as exc:
        result.error = str(exc)
    if fetched is not None and fetched.data is not None:
        parsed = parse_feed(fetched.data, fetched.headers)
        result.error = parsed.error
        result.skipped.extend(parsed.skipped)
    result.not_modified = fetched is not None and fetched.not_modified
    with session_scope(engine) as session:
        row = session.get(FeedSource, source.id)
        if row is None:  # removed while we were fetching
            return result
        row.last_polled_at = now
        row.last_error = result.error
        # Validators only from a clean document: after a malformed one, the next poll
        # fetches it again (and reports it again) instead of being told "not modified".
        if parsed is not None and parsed.error is None and fetched is not None:
            row.etag = _clip(fetched.etag, 500)
            row.last_modified = _clip(fetched.last_modified, 200)
        if parsed is not None:
            if parsed.title:
                row.title = _clip(parsed.title, 500)
            _store_entries(session, row.id or 0, parsed.entries, now, result)
        if mark_seen:
            result.seen = _mark_seen(session, source.id)
        session.add(row)
        result.source = row
    if row.make_drafts and not mark_seen:
        _draft(engine, queue, row, utm, result)
    result.pending = _count_new(engine, source.id)
    if result.error != row.last_error:  # drafting added to the error
        _set_error(engine, source.id, result.error)
        row.last_error = result.error
    return result


def _store_entries(
    session: Session, source_id: int, entries: list[ParsedEntry], now: datetime, result: PollResult
) -> None:
    """Insert the entries not stored before; oldest first, so item ids follow age."""
    ordered = sorted(reversed(entries), key=lambda e: e.published_at or now)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    keys: set[str] = set()
    for entry in ordered:
        key = entry.dedupe_key()
        assert key is not None  # parse_feed skips entries without one
        if key in keys:
            result.duplicate += 1
            continue
        keys.add(key)
        link = entry.link if entry.link and len(entry.link) <= 2000 else None
        statement = (
            insert(FeedItem)
            .values(
                source_id=source_id,
                dedupe_key=key,
                title=_clip(entry.title, 1000),
                link=link,
                summary=entry.summary,
                # Undated entries are dated when first seen, so "oldest first" still works.
                published_at=entry.published_at or now,
                fetched_at=now,
                state="new",
            )
            # Another daemon may store the same entry at the same moment: the unique
            # (source_id, dedupe_key) index decides, and the loser counts a duplicate.
            .on_conflict_do_nothing(index_elements=["source_id", "dedupe_key"])
            # rowcount is not reliable here (-1 on psycopg); a returned id is.
            .returning(col(FeedItem.id))
        )
        if session.execute(statement).first() is not None:
            result.new += 1
        else:
            result.duplicate += 1


def _mark_seen(session: Session, source_id: int) -> int:
    changed = session.execute(
        update(FeedItem)
        .where(col(FeedItem.source_id) == source_id)
        .where(col(FeedItem.state) == "new")
        .values(state="seen")
    )
    return _rowcount(changed)


def _draft(
    engine: Engine, queue: Queue, source: FeedSource, utm: UtmSettings | None, result: PollResult
) -> None:
    """Draft the oldest waiting items until the feed's per-poll cap is reached."""
    assert source.id is not None
    try:
        channels = queue.directory.expand(source.channels)
    except ValidationError as exc:
        message = f"drafts not made: {exc}"
        result.error = f"{result.error}; {message}" if result.error else message
        return
    _reattach(engine, queue, source, channels, utm)
    while result.drafted < source.max_new_per_poll:
        item = _next_new(engine, source.id)
        if item is None:
            return
        if not _set_state(engine, item, "drafted", expect="new"):
            continue  # another daemon claimed it first
        try:
            request = draft_request(item, source, queue.directory, channels, utm)
            outcome = queue.create(request)
        except ValidationError as exc:
            _set_state(engine, item, "skipped")
            result.skipped.append((item.title or item.link or item.dedupe_key, str(exc)))
            continue
        except BaseException:
            # Not the item's fault (database down, interrupted): let a later poll retry it.
            _set_state(engine, item, "new")
            raise
        post_id = outcome.post.id
        assert post_id is not None
        _attach(engine, item, post_id)
        result.drafted += 1
        result.post_ids.append(post_id)
        result.warnings.extend(outcome.warnings)


def _attach(engine: Engine, item: FeedItem, post_id: int) -> None:
    with session_scope(engine) as session:
        session.execute(update(FeedItem).where(col(FeedItem.id) == item.id).values(post_id=post_id))


def _reattach(
    engine: Engine,
    queue: Queue,
    source: FeedSource,
    channels: list[str],
    utm: UtmSettings | None,
) -> None:
    """Link items whose draft was made but not recorded (a crash between the two writes).

    Such an item is ``drafted`` without a post id; its post is found by the feed's source
    tag and the text's fingerprint. An item whose post does not exist is left alone: another
    daemon may be creating it right now.
    """
    assert source.id is not None
    with session_scope(engine) as session:
        orphans = list(
            session.exec(
                select(FeedItem)
                .where(FeedItem.source_id == source.id)
                .where(FeedItem.state == "drafted")
                .where(col(FeedItem.post_id).is_(None))
            ).all()
        )
    for item in orphans:
        try:
            request = draft_request(item, source, queue.directory, channels, utm)
        except ValidationError:
            continue
        with session_scope(engine) as session:
            post_id = session.exec(
                select(Post.id)
                .where(Post.source == request.source)
                .where(Post.fingerprint == fingerprint(request.text))
                .order_by(col(Post.id).desc())
            ).first()
        if post_id is not None:
            _attach(engine, item, post_id)


def _next_new(engine: Engine, source_id: int) -> FeedItem | None:
    with session_scope(engine) as session:
        return session.exec(
            select(FeedItem)
            .where(FeedItem.source_id == source_id)
            .where(FeedItem.state == "new")
            .order_by(col(FeedItem.published_at), col(FeedItem.id))
            .limit(1)
        ).first()


def _set_state(engine: Engine, item: FeedItem, state: str, *, expect: str | None = None) -> bool:
    """Move ``item`` to ``state`` (only from ``expect``, when given); True if it moved."""
    statement = update(FeedItem).where(col(FeedItem.id) == item.id).values(state=state)
    if expect is not None:
        statement = statement.where(col(FeedItem.state) == expect)
    with session_scope(engine) as session:
        return _rowcount(session.execute(statement)) > 0


def _count_new(engine: Engine, source_id: int) -> int:
    with session_scope(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(FeedItem)
                .where(FeedItem.source_id == source_id)
                .where(FeedItem.state == "new")
            ).one()
        )


def _set_error(engine: Engine, source_id: int, error: str | None) -> None:
    with session_scope(engine) as session:
        session.execute(
            update(FeedSource).where(col(FeedSource.id) == source_id).values(last_error=error)
        )


def _check_template(name: str) -> None:
    # Imported here: Pillow is only needed by feeds that use a template.
    from content.infographic import list_templates

    known = [t.name for t in list_templates()]
    if name not in known:
        raise ValidationError("template_unknown", field="template", name=name, known=known)


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult; the static type does not say so.
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else value
