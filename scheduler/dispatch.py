"""Claim due deliveries, publish them, record each result at once; recover after a crash.

The rules, in the order they protect the user:

1. A delivery is claimed atomically (one conditional UPDATE; on PostgreSQL the candidate
   rows are locked with ``FOR UPDATE SKIP LOCKED``) and the claim is committed *before*
   the platform is called, so two daemons never send the same delivery.
2. Each result is committed as soon as it is known (the results that finish within the
   same few hundredths of a second share one transaction).
3. An attempt whose outcome is unknown (timeout after sending, 5xx, a crash while
   ``sending``) is marked ``uncertain``; the next attempt first asks the channel whether
   the post is already there (:meth:`Channel.find`) and only re-sends when it surely is not.
4. Transient errors retry with exponential backoff and jitter up to a limit; auth errors
   pause the channel (its deliveries wait); content errors fail that delivery alone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from content.db import session_scope, unavailable

# One definition of "silent" for the dispatcher, `loa status` and the TUI; re-exported for
# the callers that know it as scheduler.dispatch.SILENT_AFTER.
from content.health import SILENT_AFTER as SILENT_AFTER
from content.models import (
    Alert,
    ChannelState,
    DaemonHeartbeat,
    Delivery,
    DeliveryState,
    MediaFile,
    Post,
)
from content.queue import Queue
from content.times import utcnow
from scheduler.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    ContentError,
    MediaBlob,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.outage import DatabaseOutage

log = logging.getLogger("loa.dispatch")


_T = TypeVar("_T")

#: last_error_class of an attempt whose outcome is unknown: look before sending again.
UNCERTAIN = "uncertain"


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


@dataclass(frozen=True)
class AttemptResult:
    """One attempt, for the log line and the summary."""

    delivery_id: int
    channel: str
    outcome: str  # published | processing | retry | failed | needs_review | paused | found
    latency: float
    lateness: float
    detail: str = ""
    #: The delivery's first attempt (its lateness is how late the post left).
    first: bool = False
    #: Published (or found published): seconds from the post's scheduled time to when the
    #: result was recorded (its published_at); None for other outcomes or a post without time.
    published_lateness: float | None = None


@dataclass
class _Job:
    delivery_id: int
    post_id: int
    channel: str
    due: datetime | None
    attempts: int
    uncertain: bool
    post: OutgoingPost


@dataclass
class _Call:
    """A finished call, waiting to be recorded."""

    job: _Job
    outcome: Published | Processing | ChannelError
    latency: float
    lateness: float
    note: str = ""

    @property
    def holds_channel(self) -> bool:
        """The answer pauses or blocks the whole channel once recorded."""
        outcome = self.outcome
        return isinstance(outcome, AuthError) or (
            isinstance(outcome, TransientError) and outcome.channel_wide
        )


@dataclass
class Dispatcher:
    """Publishes due deliveries through ``channels`` (id -> client)."""

    engine: Engine
    channels: Mapping[str, Channel]
    queue: Queue
    worker: str
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    #: Simultaneous calls per channel (platform politeness) and overall.
    per_channel: Mapping[str, int] = field(default_factory=dict)
    default_per_channel: int = 4
    overall: int = 256
    #: A ``sending`` claim older than this belongs to a daemon that died.
    lease: timedelta = timedelta(minutes=5)
    #: How long a dead daemon's request may still be processed by the platform.
    recovery_grace: timedelta = timedelta(seconds=30)
    #: A daemon whose heartbeat is older than this is dead: its claims are taken back at
    #: once (the lease stays as the last resort, e.g. for daemons that never beat).
    silent_after: timedelta = SILENT_AFTER
    #: Results the database could not take are kept and written again, waiting at first
    #: this long, doubling up to ``hold_max_wait``; given up after the lease (by then another
    #: daemon may have taken the claims back, and looks the posts up on the platform).
    hold_first_wait: float = 0.5
    hold_max_wait: float = 10.0
    #: Set on shutdown: finish what was claimed, claim nothing more.
    stopping: bool = False
    #: Results finishing within this many seconds are committed in one transaction.
    group_commit_seconds: float = 0.03
    #: Called with every attempt's result (the demo and benchmarks measure lateness).
    on_result: Callable[[AttemptResult], None] | None = None
    #: Also called with every attempt's result (the daemon's Prometheus metrics), whoever
    #: sets ``on_result``.
    observers: list[Callable[[AttemptResult], None]] = field(default_factory=list)
    _channel_locks: dict[str, asyncio.Semaphore] = field(default_factory=dict, init=False)
    _unrecorded: list[
        tuple[_Job, Published | Processing | ChannelError, asyncio.Future[tuple[str, str]]]
    ] = field(default_factory=list, init=False)
    _recorder: asyncio.Task[None] | None = field(default=None, init=False)
    _success_written: dict[str, datetime] = field(default_factory=dict, init=False)
    _overall_lock: asyncio.Semaphore | None = field(default=None, init=False)
    #: The current database incident (one log line when it starts, one when it ends).
    outage: DatabaseOutage = field(default_factory=lambda: DatabaseOutage(log), init=False)
    _started_at: datetime | None = field(default=None, init=False)
    _last_beat: datetime | None = field(default=None, init=False)

    # ------------------------------------------------------------------ public

    async def run_due(self) -> list[AttemptResult]:
        """Publish everything due now, keeping each channel's slots busy.

        Claims only what can start (free overall slots, at most ``per_channel`` per channel),
        and claims again as calls finish, so a crash leaves few deliveries ``sending`` and a
        burst drains at the rate the channels allow. A call's slot is free again as soon as
        the platform has answered, while its result is still being recorded; only an answer
        that holds the whole channel (paused, blocked) keeps the slot until it is recorded,
        so nothing more goes to that channel meanwhile. Returns when nothing due is left.

        When the database cannot be reached for a claim, the calls already in flight still
        finish and are recorded (held in memory until the database answers); nothing more
        is claimed in this run.
        """
        results: list[AttemptResult] = []
        calls: dict[asyncio.Task[_Call], str] = {}
        # Recording tasks, with the channel whose slot each still holds (or None).
        records: dict[asyncio.Task[AttemptResult], str | None] = {}
        busy: Counter[str] = Counter()
        slot_freed = True
        claiming = True
        while True:
            free = self.overall - len(calls)
            if free > 0 and slot_freed and claiming and not self.stopping:
                slot_freed = False
                room = {c: self._capacity(c) - n for c, n in busy.items() if n}
                try:
                    jobs = await asyncio.to_thread(self._claim_and_load, free, room)
                except Exception as exc:
                    # Never leave calls in flight unrecorded because a claim failed.
                    claiming = False
                    jobs = []
                    if not self.outage.absorbed(exc, "claiming due posts"):
                        if not calls and not records:
                            raise
                        log.exception("claiming failed; finishing the calls in flight first")
                for job in jobs:
                    calls[asyncio.create_task(self._process(job))] = job.channel
                    busy[job.channel] += 1
            if not calls and not records:
                return results
            done, _ = await asyncio.wait([*calls, *records], return_when=asyncio.FIRST_COMPLETED)
            for call_task in [t for t in calls if t in done]:
                channel = calls.pop(call_task)
                call = call_task.result()
                held = channel if call.holds_channel else None
                if held is None:
                    busy[channel] -= 1
                    slot_freed = True
                records[asyncio.create_task(self._finish(call))] = held
            for record_task in [t for t in records if t in done]:
                held = records.pop(record_task)
                if held is not None:
                    busy[held] -= 1
                    slot_freed = True
                try:
                    results.append(record_task.result())
                except Exception as exc:
                    # Its result could not be stored: the delivery stays `sending` and is
                    # recovered as uncertain (looked up before any re-send); the others go on.
                    if unavailable(exc):
                        continue  # said once, for the whole group, by _record_pending
                    log.exception("an attempt's result was not recorded")

    def _claim_and_load(self, limit: int, room: Mapping[str, int]) -> list[_Job]:
        claimed = self.claim_batch(limit, busy=room)
        jobs = self._load([i for i, _ in claimed]) if claimed else []
        self.outage.answered()
        return jobs

    def claim(self, limit: int) -> list[int]:
        """Atomically mark up to ``limit`` due deliveries ``sending`` for this worker."""
        return [delivery_id for delivery_id, _ in self.claim_batch(limit)]

    def claim_batch(
        self, limit: int, *, busy: Mapping[str, int] | None = None
    ) -> list[tuple[int, str]]:
        """Claim up to ``limit`` due deliveries, no more per channel than it has room for.

        ``busy`` gives the room left on channels with calls in flight (default: a channel's
        capacity). Returns (delivery id, channel) pairs, earliest due first.
        """
        now = self.clock()
        room = {c: self._capacity(c) for c in self.per_channel}
        room.update(busy or {})
        with session_scope(self.engine) as session:
            skip = [*_blocked_channels(session, now), *(c for c, n in room.items() if n <= 0)]
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
            ).where(Delivery.state == DeliveryState.PENDING, col(Delivery.next_attempt_at) <= now)
            if skip:
                due = due.where(col(Delivery.channel).not_in(skip))
            ranked = due.subquery()
            # Each channel's earliest few; the room of each is applied here rather than in SQL,
            # so the statement's shape never changes and is compiled once (a CASE over the
            # channels' room cost a compilation per claim, most of a claim's CPU).
            most = max([self.default_per_channel, *room.values()])
            rows = session.execute(
                select(ranked.c.id, ranked.c.channel, ranked.c.rank)
                .where(ranked.c.rank <= most)
                .order_by(ranked.c.next_attempt_at, ranked.c.id)
            ).all()
            ids = [r.id for r in rows if r.rank <= room.get(r.channel, self.default_per_channel)][
                :limit
            ]
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
            # state condition makes the claim safe on both.
            claimed = session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(ids))
                .where(col(Delivery.state) == DeliveryState.PENDING)
                .values(
                    state=DeliveryState.SENDING,
                    claimed_by=self.worker,
                    claimed_at=now,
                    updated_at=now,
                )
                .returning(col(Delivery.id), col(Delivery.channel))
            ).all()
        return sorted((r[0], r[1]) for r in claimed)

    def _capacity(self, channel: str) -> int:
        return self.per_channel.get(channel, self.default_per_channel)

    def next_due(self) -> datetime | None:
        """When the earliest waiting delivery is due (None when nothing waits)."""
        with session_scope(self.engine, write=False) as session:
            blocked = _blocked_channels(session, self.clock())
            query = select(func.min(Delivery.next_attempt_at)).where(
                Delivery.state == DeliveryState.PENDING
            )
            if blocked:
                query = query.where(col(Delivery.channel).not_in(blocked))
            return session.exec(query).one()

    def beat(self) -> None:
        """Write this daemon's heartbeat (every poll): other daemons then know it is alive."""
        now = self.clock()
        if self._started_at is None:
            self._started_at = now
        with session_scope(self.engine) as session:
            session.execute(
                _upsert(session, DaemonHeartbeat)
                .values(worker=self.worker, started_at=self._started_at, seen_at=now)
                .on_conflict_do_update(index_elements=["worker"], set_=dict(seen_at=now))
            )
        self._last_beat = now

    def sign_off(self) -> None:
        """Remove this daemon's heartbeat after a clean stop (it holds no claims)."""
        with session_scope(self.engine) as session:
            session.execute(
                delete(DaemonHeartbeat).where(col(DaemonHeartbeat.worker) == self.worker)
            )

    def recover(self, *, everything: bool = False) -> list[int]:
        """Turn ``sending`` deliveries left by a dead daemon into uncertain retries.

        With ``everything`` (one daemon on SQLite, at start-up) every ``sending`` row is an
        orphan. Otherwise the claims of daemons whose heartbeat has been silent for
        ``silent_after``, and any claim older than the lease. A daemon judges others silent
        only while its own heartbeat is fresh: after a database outage every heartbeat is
        old, and the live daemons must first have had a poll to beat again. The next
        attempt asks the platform first, so nothing is sent twice; it waits until
        ``recovery_grace`` after the dead daemon's claim, so a request it had in flight has
        been answered (or dropped) by the platform before anyone looks for its result.
        """
        now = self.clock()
        with session_scope(self.engine) as session:
            query = select(Delivery).where(Delivery.state == DeliveryState.SENDING)
            silent: list[str] = []
            if not everything:
                if self._last_beat is not None and now - self._last_beat <= self.silent_after / 2:
                    silent = list(
                        session.exec(
                            select(DaemonHeartbeat.worker)
                            .where(col(DaemonHeartbeat.seen_at) < now - self.silent_after)
                            .where(col(DaemonHeartbeat.worker) != self.worker)
                        ).all()
                    )
                expired = col(Delivery.claimed_at) <= now - self.lease
                query = query.where(
                    or_(expired, col(Delivery.claimed_by).in_(silent)) if silent else expired
                )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            orphans = list(session.exec(query).all())
            if silent:
                # Their claims are taken back now; a daemon that was only stalled writes its
                # heartbeat again (its late results find the claims gone and change nothing).
                session.execute(
                    delete(DaemonHeartbeat).where(col(DaemonHeartbeat.worker).in_(silent))
                )
            for delivery in orphans:
                claimed = delivery.claimed_at or now
                delivery.state = DeliveryState.PENDING
                delivery.last_error_class = UNCERTAIN
                delivery.last_error_code = None
                delivery.last_error_message = (
                    "the daemon stopped while sending; checking the platform first"
                )
                delivery.next_attempt_at = max(now, claimed + self.recovery_grace)
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

    # ------------------------------------------------------------------ one delivery

    async def _process(self, job: _Job) -> _Call:
        """Make the call (look first when the last attempt's outcome is unknown)."""
        started = self.clock()
        lateness = (started - job.due).total_seconds() if job.due else 0.0
        channel = self.channels.get(job.channel)
        if channel is None:
            error = ContentError(f"channel {job.channel} is not configured any more")
            return _Call(job, error, 0.0, lateness)
        async with self._overall(), self._channel_lock(job.channel):
            t0 = time.perf_counter()
            try:
                outcome: Published | Processing | ChannelError
                if job.uncertain and not job.post.pending_step:
                    found = await self._look_up(channel, job.post)
                    if found is not None:
                        return _Call(job, found, _since(t0), lateness, "found")
                if job.post.pending_step:
                    outcome = await self._continue(channel, job.post)
                else:
                    outcome = await channel.publish(job.post)
            except ChannelError as exc:
                outcome = exc
            except Exception as exc:  # a bug or an unforeseen answer: never assume "not sent"
                log.exception("delivery %s: unexpected error from %s", job.delivery_id, job.channel)
                outcome = TransientError(
                    f"unexpected {type(exc).__name__}: {exc}", uncertain=True, platform="loa"
                )
            return _Call(job, outcome, _since(t0), lateness)

    async def _look_up(self, channel: Channel, post: OutgoingPost) -> Published | Processing | None:
        """Whether the platform already has ``post``.

        A look-up only reads: a call it makes that the platform refuses says nothing about
        the post, so it must neither fail the delivery (as a refused publish would) nor pass
        for "not there". It is "could not tell", and the delivery stays uncertain.
        """
        try:
            return await self._asking_again(lambda: channel.find(post), post, "look-up")
        except ContentError as exc:
            raise TransientError(
                f"look-up failed: {exc.message}", code=exc.code, platform=exc.platform
            ) from None

    async def _continue(self, channel: Channel, post: OutgoingPost) -> Published | Processing:
        """Continue a step the platform already accepted (a Zalo article being processed or
        broadcast): each failed attempt brings a post the platform has closer to needing a
        person, so a failure that surely changed nothing is asked again at once."""
        return await self._asking_again(
            lambda: channel.publish(post), post, post.pending_step or "step"
        )

    async def _asking_again(
        self, call: Callable[[], Awaitable[_T]], post: OutgoingPost, what: str
    ) -> _T:
        """``call()``, asked again at once (up to ``policy.lookup_tries`` calls) after a
        failure that changed nothing and names no wait: a rate limit's wait is the
        platform's to set, and an uncertain failure may have changed something."""
        for _ in range(self.policy.lookup_tries - 1):
            try:
                return await call()
            except TransientError as exc:
                if exc.uncertain or exc.retry_after is not None:
                    raise
                log.info("delivery %s: %s failed (%s); asking again", post.delivery_id, what, exc)
        return await call()

    async def _finish(self, call: _Call) -> AttemptResult:
        """Record the call's result and report it."""
        job = call.job
        label, detail = await self._record_grouped(job, call.outcome)
        # The first attempt's lateness is how late the post left (retries are late by design).
        first = job.attempts == 0 and job.post.pending_step is None and not job.uncertain
        scheduled = job.post.first_attempt_at
        published_lateness = (
            max(0.0, (self.clock() - scheduled).total_seconds())
            if label == "published" and scheduled is not None
            else None
        )
        result = AttemptResult(
            job.delivery_id,
            job.channel,
            call.note or label,
            call.latency,
            call.lateness,
            detail,
            first=first,
            published_lateness=published_lateness,
        )
        if self.on_result is not None:
            self.on_result(result)
        for observer in self.observers:
            observer(result)
        log.info(
            "delivery=%s channel=%s outcome=%s latency=%.3fs lateness=%.3fs%s",
            result.delivery_id,
            result.channel,
            result.outcome,
            result.latency,
            result.lateness,
            f" detail={detail!r}" if detail else "",
        )
        return result

    def _load(self, delivery_ids: list[int]) -> list[_Job]:
        """What each claimed delivery publishes: three reads for a whole batch."""
        with session_scope(self.engine, write=False) as session:
            deliveries = session.exec(
                select(Delivery).where(col(Delivery.id).in_(delivery_ids))
            ).all()
            posts = {
                p.id: p
                for p in session.exec(
                    select(Post).where(col(Post.id).in_({d.post_id for d in deliveries}))
                ).all()
            }
            media_ids = {m for p in posts.values() for m in p.image_ids}
            media = {
                m.id: MediaBlob(filename=m.filename, mime=m.mime, data=m.data)
                for m in session.exec(select(MediaFile).where(col(MediaFile.id).in_(media_ids)))
            }
            jobs = []
            for delivery in deliveries:
                post = posts[delivery.post_id]
                outgoing = OutgoingPost(
                    delivery_id=delivery.id or 0,
                    channel=delivery.channel,
                    text=delivery.text_variant or post.text,
                    title=post.title,
                    link=post.link,
                    images=tuple(media[m] for m in post.image_ids if m in media),
                    fingerprint=post.fingerprint,
                    infographic=post.infographic,
                    first_attempt_at=post.scheduled_at,
                    pending_step=delivery.pending_step,
                    pending_ref=delivery.pending_ref,
                    uncertain=delivery.last_error_class == UNCERTAIN,
                )
                jobs.append(
                    _Job(
                        delivery_id=delivery.id or 0,
                        post_id=post.id or 0,
                        channel=delivery.channel,
                        due=delivery.next_attempt_at,
                        attempts=delivery.attempts,
                        uncertain=delivery.last_error_class == UNCERTAIN,
                        post=outgoing,
                    )
                )
            return jobs

    async def _record_grouped(
        self, job: _Job, outcome: Published | Processing | ChannelError
    ) -> tuple[str, str]:
        """Record a result together with the others that finish at about the same time.

        One transaction for a group of results instead of one each: under a burst most of
        the daemon's time went into committing, one result at a time.
        """
        future: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._unrecorded.append((job, outcome, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_pending())
        return await future

    async def _record_pending(self) -> None:
        """Write waiting results in groups; hold them while the database cannot take them.

        A busy SQLite (another writer past the busy timeout) or a restarting PostgreSQL
        fails the whole transaction: the platform's answers are then kept in memory (at most
        one per call in flight) and written again with a growing wait, together with the
        answers that arrive meanwhile, until the database answers or the lease has passed.
        Nothing is sent again meanwhile: the deliveries stay claimed.
        """
        held: list[
            tuple[_Job, Published | Processing | ChannelError, asyncio.Future[tuple[str, str]]]
        ] = []
        wait = self.group_commit_seconds
        holding_since: float | None = None
        while self._unrecorded or held:
            await asyncio.sleep(wait)
            group, held, self._unrecorded = held + self._unrecorded, [], []
            try:
                answers = await asyncio.to_thread(
                    self._record, [(job, outcome) for job, outcome, _ in group]
                )
            except Exception as exc:  # the transaction failed: every result in it is unknown
                now = time.monotonic()
                holding_since = holding_since if holding_since is not None else now
                if unavailable(exc) and now - holding_since < self.lease.total_seconds():
                    self.outage.failed(exc, f"recording {len(group)} results")
                    held = group
                    wait = min(self.hold_max_wait, max(self.hold_first_wait, wait * 2))
                    continue
                if unavailable(exc):
                    log.warning(
                        "%d results not written after %.0f s; their posts are looked up on "
                        "the platform before anything is sent again",
                        len(group),
                        now - holding_since,
                    )
                for _, _, future in group:
                    future.set_exception(exc)
                holding_since, wait = None, self.group_commit_seconds
                continue
            self.outage.answered()
            holding_since, wait = None, self.group_commit_seconds
            for (_, _, future), answer in zip(group, answers, strict=True):
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)

    def _record(
        self, group: list[tuple[_Job, Published | Processing | ChannelError]]
    ) -> list[tuple[str, str] | Exception]:
        """Commit what happened to claimed deliveries, in one transaction.

        The group is written in one go: its rows loaded (and locked) in two reads, each result
        applied to them, each post settled once, one flush. Only if that fails is it written
        again with a savepoint per result, so one result that cannot be written does not take
        the others with it. Returns (outcome label, detail), or the error, per result.
        """
        # Lock order everywhere: posts by id, then their deliveries (no deadlocks with the
        # queue rules or another daemon).
        order = sorted(
            range(len(group)), key=lambda i: (group[i][0].post_id, group[i][0].delivery_id)
        )
        now = self.clock()
        answers: dict[int, tuple[str, str] | Exception] = {}
        try:
            with session_scope(self.engine) as session:
                rows = _lock_group(session, [job for job, _ in group])
                succeeded: set[str] = set()
                for i in order:
                    answers[i] = self._record_one(session, rows, *group[i], now, succeeded)
                # Channel rows before the audit lock that settling takes: a failed result
                # locks its channel row first too, so every writer takes them in one order.
                self._touch_success(session, succeeded, now)
                self._settle(session, rows, {job.post_id for job, _ in group})
        except Exception as exc:
            if unavailable(exc):
                raise  # the database, not one result: the whole group waits for it
            log.warning("a group of %d results failed; writing them one by one", len(group))
            answers = {}
            with session_scope(self.engine) as session:
                rows = _lock_group(session, [job for job, _ in group])
                for i in order:
                    job = group[i][0]
                    try:
                        with session.begin_nested():
                            succeeded = set()
                            answers[i] = self._record_one(session, rows, *group[i], now, succeeded)
                            self._touch_success(session, succeeded, now)
                            self._settle(session, rows, {job.post_id})
                    except Exception as exc:
                        log.exception("delivery %s: result not recorded", job.delivery_id)
                        answers[i] = exc
        return [answers[i] for i in range(len(group))]

    def _record_one(
        self,
        session: Session,
        rows: _GroupRows,
        job: _Job,
        outcome: Published | Processing | ChannelError,
        now: datetime,
        succeeded: set[str],
    ) -> tuple[str, str]:
        # The group's posts and deliveries are loaded (and locked) already: no SQL here.
        delivery = rows.deliveries.get(job.delivery_id)
        if delivery is None or delivery.state != DeliveryState.SENDING:
            return "lost-claim", "another daemon took this delivery over"
        if delivery.claimed_by != self.worker:
            return "lost-claim", f"claimed by {delivery.claimed_by}"
        delivery.claimed_by = None
        delivery.updated_at = now
        label, detail = self._apply(session, delivery, outcome, now)
        if label == "published":
            succeeded.add(delivery.channel)
        session.add(delivery)
        return label, detail

    def _settle(self, session: Session, rows: _GroupRows, post_ids: set[int]) -> None:
        self.queue.settle_loaded(
            session,
            [(rows.posts[i], rows.by_post.get(i, [])) for i in sorted(post_ids) if i in rows.posts],
        )

    def _touch_success(self, session: Session, channels: set[str], now: datetime) -> None:
        """Note the channels' last success, at most once a second each.

        The channel row is shared by every result of the channel: touching it on each one
        serialised a burst, and "last success" to the second is precise enough.
        """
        stale = sorted(
            c
            for c in channels
            if (written := self._success_written.get(c)) is None
            or now - written >= timedelta(seconds=1)
        )
        if not stale:
            return
        statement = _upsert(session, ChannelState).values(
            [dict(channel=c, paused=False, last_success_at=now, updated_at=now) for c in stale]
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["channel"],
                set_=dict(last_success_at=now, updated_at=now),
            )
        )
        for channel in stale:
            self._success_written[channel] = now

    def _apply(
        self,
        session: Session,
        delivery: Delivery,
        outcome: Published | Processing | ChannelError,
        now: datetime,
    ) -> tuple[str, str]:
        was_uncertain = delivery.last_error_class == UNCERTAIN
        if isinstance(outcome, Published):
            if delivery.pending_step is None:
                delivery.attempts += 1
            delivery.state = DeliveryState.PUBLISHED
            delivery.remote_id = outcome.remote_id
            delivery.permalink = outcome.permalink
            delivery.published_at = now
            delivery.next_attempt_at = None
            delivery.pending_step = delivery.pending_ref = None
            _clear_error(delivery)
            if outcome.warning:
                _alert(
                    session,
                    now,
                    "published_with_warning",
                    delivery,
                    f"post {delivery.post_id} on {delivery.channel} is published; "
                    f"{outcome.warning}",
                    "Nothing is sent again by Loa; check the channel if this matters.",
                )
            return "published", outcome.remote_id
        if isinstance(outcome, Processing):
            if delivery.pending_step is None:
                delivery.attempts += 1
            delivery.state = DeliveryState.PENDING
            delivery.pending_step = outcome.step
            delivery.pending_ref = outcome.ref
            delivery.next_attempt_at = now + timedelta(seconds=outcome.retry_after)
            _clear_error(delivery)
            return "processing", outcome.step
        _store_error(delivery, outcome)
        state = _channel_state(session, delivery.channel, now)
        state.last_failure_at = now
        if isinstance(outcome, AuthError):
            # Not this post's fault: it waits, the channel pauses until its token works.
            delivery.state = DeliveryState.PENDING
            delivery.next_attempt_at = now
            if was_uncertain:
                # The refusal may have come from the look-up: the post may still be on the
                # Page from an earlier attempt, so look again once the channel resumes.
                delivery.last_error_class = UNCERTAIN
            if not state.paused:
                state.paused = True
                state.paused_reason = outcome.message
                state.paused_at = now
                _alert(
                    session,
                    now,
                    "channel_paused",
                    delivery,
                    f"{delivery.channel} is paused: {outcome.message}",
                    "Renew the channel's token (see `loa doctor`); its posts wait and resume.",
                )
            return "paused", outcome.message
        if isinstance(outcome, ContentError):
            delivery.attempts += 1
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            _alert(
                session,
                now,
                "delivery_failed",
                delivery,
                f"post {delivery.post_id} on {delivery.channel} was refused: {outcome.message}",
                "Edit the post and queue it again.",
            )
            return "failed", outcome.message
        assert isinstance(outcome, TransientError)
        if outcome.retry_after is None or outcome.uncertain:
            # A wait the platform announced (rate limit, quota, night ban) is not a failure
            # of this post: it does not use up its attempts.
            delivery.attempts += 1
        if outcome.uncertain or was_uncertain:
            # Still unknown whether the platform has it: keep looking before any re-send.
            delivery.last_error_class = UNCERTAIN
        if delivery.attempts >= self.policy.max_attempts:
            delivery.next_attempt_at = None
            # A post the platform may have (an unknown outcome, or a step of a post it already
            # accepted, e.g. a Zalo article being processed) never ends `failed`: re-posting
            # it by hand would make a second copy. A person looks first.
            if delivery.last_error_class == UNCERTAIN or delivery.pending_step is not None:
                accepted = delivery.pending_step is not None
                delivery.state = DeliveryState.NEEDS_REVIEW
                reason = (
                    f"the platform accepted it ({delivery.pending_step}) but Loa could not "
                    "confirm it was published"
                    if accepted
                    else "Loa cannot tell whether it was published"
                )
                delivery.last_error_message = f"{reason}: {outcome.message}"[:2000]
                _alert(
                    session,
                    now,
                    "needs_review",
                    delivery,
                    f"post {delivery.post_id} on {delivery.channel}: {reason} ({outcome.message})",
                    "Look at the Page/OA, then mark it published or not published in the TUI.",
                )
                return "needs_review", outcome.message
            delivery.state = DeliveryState.FAILED
            _alert(
                session,
                now,
                "delivery_failed",
                delivery,
                f"post {delivery.post_id} on {delivery.channel} failed "
                f"{delivery.attempts} times: {outcome.message}",
                "Check the channel with `loa doctor`, then retry the post.",
            )
            return "failed", outcome.message
        wait = self.policy.delay(delivery.attempts, self.rng)
        if outcome.retry_after is not None:
            wait = max(wait, outcome.retry_after)
            if outcome.channel_wide:
                # The platform named a block: hold the whole channel, not just this post.
                until = now + timedelta(seconds=outcome.retry_after)
                state.blocked_until = max(state.blocked_until or until, until)
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = now + timedelta(seconds=wait)
        return "retry", f"{outcome.message} (next in {wait:.0f}s)"

    # ------------------------------------------------------------------ limits

    def _channel_lock(self, channel: str) -> asyncio.Semaphore:
        if channel not in self._channel_locks:
            self._channel_locks[channel] = asyncio.Semaphore(self._capacity(channel))
        return self._channel_locks[channel]

    def _overall(self) -> asyncio.Semaphore:
        if self._overall_lock is None:
            self._overall_lock = asyncio.Semaphore(self.overall)
        return self._overall_lock


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


@dataclass
class _GroupRows:
    """A group's posts and all of their deliveries, as loaded in the recording transaction.

    Held here because the session's identity map keeps rows only while something refers to
    them: dropped, each would be read again.
    """

    posts: dict[int, Post]
    by_post: dict[int, list[Delivery]]
    deliveries: dict[int, Delivery]


def _lock_group(session: Session, jobs: list[_Job]) -> _GroupRows:
    """Load (and on PostgreSQL lock) a group's posts, then all their deliveries, in id order.

    The same order as the queue rules (post before delivery) and as other daemons (ids
    ascending), so no two transactions wait on each other in a circle. All of a post's
    deliveries, not only the group's: settling the post needs them.
    """
    post_ids = sorted({job.post_id for job in jobs})
    posts = session.exec(
        select(Post).where(col(Post.id).in_(post_ids)).order_by(col(Post.id)).with_for_update()
    ).all()
    deliveries = session.exec(
        select(Delivery)
        .where(col(Delivery.post_id).in_(post_ids))
        .order_by(col(Delivery.id))
        .with_for_update()
    ).all()
    by_post: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_post.setdefault(delivery.post_id, []).append(delivery)
    return _GroupRows({p.id or 0: p for p in posts}, by_post, {d.id or 0: d for d in deliveries})


def _blocked_channels(session: Session, now: datetime) -> list[str]:
    return list(
        session.exec(
            select(ChannelState.channel).where(
                or_(col(ChannelState.paused).is_(True), col(ChannelState.blocked_until) > now)
            )
        ).all()
    )


def _upsert(session: Session, table: Any) -> Any:
    """An INSERT that can take ``on_conflict_do_*`` on this session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


def _channel_state(session: Session, channel: str, now: datetime) -> ChannelState:
    """The channel's shared state row, created on first use (safe when daemons race)."""
    session.execute(
        _upsert(session, ChannelState)
        .values(channel=channel, paused=False, updated_at=now)
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    state = session.get(ChannelState, channel, with_for_update=True)
    assert state is not None
    state.updated_at = now
    session.add(state)
    return state


def _store_error(delivery: Delivery, error: ChannelError) -> None:
    delivery.last_error_class = error.error_class
    delivery.last_error_code = error.code_text()
    delivery.last_error_message = error.message[:2000]


def _clear_error(delivery: Delivery) -> None:
    delivery.last_error_class = delivery.last_error_code = delivery.last_error_message = None


def _alert(
    session: Session, now: datetime, kind: str, delivery: Delivery, message: str, advice: str
) -> None:
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


def _since(t0: float) -> float:
    return time.perf_counter() - t0
