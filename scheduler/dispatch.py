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

The claim (1) and the taking back of a dead daemon's claims are
:mod:`scheduler.dispatch_claim`; the call (3: look first, then send) is
:mod:`scheduler.dispatch_call`; the rows recording writes and the outcome rules (3, 4) are
:mod:`scheduler.dispatch_record`. This module is the pipeline between them (2): lanes and
their slots, when each call starts, results grouped into transactions and held through a
database outage.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from content.db import WriteLockBusy, session_scope, unavailable, without_waiting
from content.delivery_states import WAIT, move

# One definition of "silent" for the dispatcher, `loa status` and the TUI; re-exported for
# the callers that know it as scheduler.dispatch.SILENT_AFTER.
from content.health import SILENT_AFTER as SILENT_AFTER
from content.models import DaemonHeartbeat, DeliveryState
from content.queue import Queue
from content.times import utcnow
from scheduler.channels.base import Channel, ContentError
from scheduler.dispatch_call import RELEASED, Call, Outcome, Released
from scheduler.dispatch_call import AttemptResult as AttemptResult
from scheduler.dispatch_call import call as make_call
from scheduler.dispatch_claim import UNCERTAIN as UNCERTAIN
from scheduler.dispatch_claim import Batch, Job, blocked_channels, take_back
from scheduler.dispatch_claim import claim as claim_due
from scheduler.dispatch_claim import next_due as earliest_due
from scheduler.dispatch_record import (
    GroupRows,
    apply_outcome,
    lock_group,
    touch_success,
    upsert,
    write_deliveries,
)
from scheduler.dispatch_record import RetryPolicy as RetryPolicy

# The channel's pause, lifted by a person (`loa channels resume`, the TUI): known to the
# daemon, the faces and the tests as scheduler.dispatch's.
from scheduler.dispatch_record import paused_channels as paused_channels
from scheduler.dispatch_record import resume_channel as resume_channel
from scheduler.outage import DatabaseOutage

log = logging.getLogger("loa.dispatch")
T = TypeVar("T")


@dataclass
class _Flight:
    """One run of the pipeline: what is in flight, and whether to claim again."""

    until_idle: bool
    #: Recorded results (returned by ``run_due``).
    results: list[AttemptResult] = field(default_factory=list)
    #: Calls in flight, with their channel.
    calls: dict[asyncio.Task[Call], str] = field(default_factory=dict)
    #: Recording tasks, with the channel whose slot each still holds (or None).
    records: dict[asyncio.Task[AttemptResult], str | None] = field(default_factory=dict)
    #: Calls and recordings that have ended, in the order they ended, not yet handled.
    ended: deque[asyncio.Task[Any]] = field(default_factory=deque)
    #: Set when a task ends or the dispatcher is woken (the pipeline waits on it).
    signal: asyncio.Event = field(default_factory=asyncio.Event)
    #: Claimed deliveries per lane not answered yet (in a call or waiting for a slot).
    busy: Counter[str] = field(default_factory=Counter)
    #: Answers per lane that hold it until recorded.
    holding: Counter[str] = field(default_factory=Counter)
    #: Lanes that had due work left unclaimed for want of a slot.
    waiting: set[str] = field(default_factory=set)
    #: The overall limit cut the last claim (any freed slot may take more).
    crowded: bool = False
    want: bool = True
    #: False once a claim failed in ``run_due``: it finishes what is in flight and returns.
    claiming: bool = True

    @property
    def idle(self) -> bool:
        """Nothing in a call or being recorded."""
        return not self.calls and not self.records

    def track(self, task: asyncio.Task[Any]) -> None:
        """Have ``task`` queued in :attr:`ended` (and the pipeline woken) when it ends.

        One callback per task, rather than ``asyncio.wait`` over everything in flight at
        each turn: a burst has hundreds of tasks in flight and a turn per task that ends, so
        waiting on all of them each time cost time in proportion to their square.
        """
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self.ended.append(task)
        self.signal.set()


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
    #: Seconds ahead of its due time a delivery is claimed (:meth:`serve`), so its call
    #: starts on a timer rather than after a database round trip. Meanwhile it is `sending`:
    #: it can no longer be cancelled, as during the call itself.
    lead: float = 1.0
    #: Deliveries claimed per lane slot: the next calls of a lane are in memory when a slot
    #: frees (no claim round trip between two calls), and a lane claims again once it is
    #: down to its slots. The extra ones are `sending` and wait for a slot; a crash leaves
    #: them to be looked up, like any claim. With 3 rather than 2 a burst takes half as
    #: many claims, each with its fixed cost (bench/dispatch_cpu.py --latency-ms 100,300:
    #: 0.224 -> 0.196 ms CPU per delivery); a province's morning (two or three posts a
    #: channel) never fills even one slot's worth.
    lane_depth: int = 3
    #: Told the earliest due time after each claim (the daemon arms its timer with it).
    on_next_due: Callable[[datetime | None], None] | None = None
    #: Results finishing within this many seconds are committed in one transaction. Slots
    #: are free as soon as the platform answers, so this costs no throughput; a longer
    #: window makes fewer, larger transactions in a burst.
    group_commit_seconds: float = 0.1
    #: Claims and recordings run on the event loop's own thread when the database is SQLite
    #: and its write lock is free at once (None: SQLite yes, PostgreSQL no); otherwise in a
    #: worker thread. A local file's transaction is a few milliseconds of CPU, and handing
    #: it to a thread made the loop and the thread take turns on the interpreter lock: a
    #: burst cost 1.36-1.56x bare httpx's CPU that way, 1.06-1.25x inline (bench/FINDINGS.md).
    #: PostgreSQL's round trips, and a wait for SQLite's lock, would stop the loop.
    inline_database: bool | None = None
    #: Called with every attempt's result (the demo and benchmarks measure lateness).
    on_result: Callable[[AttemptResult], None] | None = None
    #: Also called with every attempt's result (the daemon's Prometheus metrics), whoever
    #: sets ``on_result``.
    observers: list[Callable[[AttemptResult], None]] = field(default_factory=list)
    _channel_locks: dict[str, asyncio.Semaphore] = field(default_factory=dict, init=False)
    _unrecorded: list[tuple[Job, Outcome, asyncio.Future[tuple[str, str]]]] = field(
        default_factory=list, init=False
    )
    _recorder: asyncio.Task[None] | None = field(default=None, init=False)
    _success_written: dict[str, datetime] = field(default_factory=dict, init=False)
    _overall_lock: asyncio.Semaphore | None = field(default=None, init=False)
    #: The current database incident (one log line when it starts, one when it ends).
    outage: DatabaseOutage = field(default_factory=lambda: DatabaseOutage(log), init=False)
    _started_at: datetime | None = field(default=None, init=False)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    #: Told by :meth:`wake` to claim (the event alone also says a task ended).
    _woken: bool = field(default=False, init=False)
    #: Lanes an answer has paused or blocked: their claimed deliveries still waiting for a
    #: slot are given back, not sent. Cleared when a claim finds the lane open again.
    _held: set[str] = field(default_factory=set, init=False)
    _last_beat: datetime | None = field(default=None, init=False)

    # ------------------------------------------------------------------ public

    async def run_due(self) -> list[AttemptResult]:
        """Publish everything due now and return once nothing due is left (``--once``, tests).

        The same pipeline as :meth:`serve`, with no look-ahead: nothing due later is claimed.
        """
        return await self._pipeline(lead=0.0, until_idle=True)

    async def serve(self) -> None:
        """Publish each delivery the moment it falls due, until :meth:`stop` (the daemon).

        Wakes when told (:meth:`wake`: the daemon's timer at the next due time, its poll)
        and when a call ends on a channel that has due work waiting for a slot.
        """
        await self._pipeline(lead=self.lead, until_idle=False)

    def wake(self) -> None:
        """Look for due work now (new posts, the next due time reached)."""
        self._woken = True
        self._wakeup.set()

    def stop(self) -> None:
        """Claim nothing more; :meth:`serve` returns once what is claimed is recorded."""
        self.stopping = True
        self._wakeup.set()

    async def _pipeline(self, *, lead: float, until_idle: bool) -> list[AttemptResult]:
        """Claim as slots free, start each call at its due time, record results as they come.

        Each channel is a lane with ``per_channel`` slots. A claim takes what is due within
        ``lead`` seconds and fits the free slots; its calls wait (claimed, ``sending``) until
        their due time, so a post leaves on the millisecond instead of after a claim's
        database round trip. A call's slot is free again as soon as the platform has
        answered, while its result is still being recorded; only an answer that holds the
        whole channel (paused, blocked) keeps the slot until it is recorded, so nothing more
        goes to that channel meanwhile. A claim is made again when a slot frees on a lane
        with due work waiting, when the pipeline has nothing in flight (another process may
        have queued a post meanwhile), and when woken.

        When the database cannot be reached for a claim, the calls already in flight still
        finish and are recorded (held in memory until the database answers); nothing more
        is claimed until the next wake.
        """
        flight = _Flight(until_idle)
        # The flight's event: set by a wake (a wake before the pipeline starts is covered by
        # its first claim) and by each task that ends.
        self._wakeup, self._woken = flight.signal, False
        while True:
            free = self.overall * self.lane_depth - len(flight.calls)
            if flight.want and free > 0 and flight.claiming and not self.stopping:
                flight.want = False
                await self._claim_into(flight, free, lead)
            if flight.idle and (until_idle or self.stopping):
                return flight.results
            await flight.signal.wait()
            flight.signal.clear()
            if self._woken:
                self._woken, flight.want = False, True
            while flight.ended:
                task = flight.ended.popleft()
                if task in flight.calls:
                    self._answered(flight, task)
                else:
                    self._recorded(flight, task)
            # Nothing in flight any more: look once more (a post queued meanwhile by
            # another process is due now, and no poll has seen it yet).
            if flight.idle and flight.claiming:
                flight.want = True

    async def _claim_into(self, flight: _Flight, free: int, lead: float) -> None:
        """Claim what is due within ``lead`` seconds and fits the lanes' free slots, and start
        its calls. A claim that fails leaves the calls in flight to finish and be recorded."""
        room = {c: self._depth(c) - n for c, n in flight.busy.items() if n}
        # A lane whose hold is not recorded yet: the database does not know.
        room.update(dict.fromkeys(flight.holding, 0))
        horizon = self.clock() + timedelta(seconds=lead)
        try:
            batch = await self._in_database(
                self._claim_and_load, free, room, horizon, self.lane_depth
            )
        except Exception as exc:
            # Never leave calls in flight unrecorded because a claim failed.
            if not self.outage.absorbed(exc, "claiming due posts"):
                if flight.until_idle and flight.idle:
                    raise
                log.exception("claiming failed; claiming again at the next wake")
            if flight.until_idle:
                flight.claiming = False
            return
        for job in batch.jobs:
            self._held.discard(job.channel)
            task = asyncio.create_task(self._process(job))
            flight.track(task)
            flight.calls[task] = job.channel
            flight.busy[job.channel] += 1
        flight.waiting, flight.crowded = set(batch.waiting), batch.crowded
        if self.on_next_due is not None and not flight.until_idle:
            self.on_next_due(batch.next_due)

    def _answered(self, flight: _Flight, call_task: asyncio.Task[Call]) -> None:
        """A call ended: free its slot (unless its answer holds the channel until recorded)
        and start recording it."""
        channel = flight.calls.pop(call_task)
        call = call_task.result()
        flight.busy[channel] -= 1
        held = channel if call.holds_channel else None
        if held is None:
            flight.want = flight.want or flight.crowded or self._runs_low(channel, flight)
        else:
            flight.holding[held] += 1
        task = asyncio.create_task(self._finish(call))
        flight.track(task)
        flight.records[task] = held

    def _recorded(self, flight: _Flight, record_task: asyncio.Task[AttemptResult]) -> None:
        """A result is recorded: free the slot it held, keep the result (``run_due``)."""
        held = flight.records.pop(record_task)
        if held is not None:
            flight.holding[held] -= 1
            if not flight.holding[held]:
                del flight.holding[held]
            flight.want = flight.want or flight.crowded or self._runs_low(held, flight)
        try:
            result = record_task.result()
        except Exception as exc:
            # Its result could not be stored: the delivery stays `sending` and is
            # recovered as uncertain (looked up before any re-send); the others go on.
            if not unavailable(exc):  # said once, for the group, by _record_pending
                log.exception("an attempt's result was not recorded")
            return
        if flight.until_idle:
            flight.results.append(result)

    def _claim_and_load(
        self, limit: int, room: Mapping[str, int], horizon: datetime, depth: int
    ) -> Batch:
        batch = self._claim(limit, room, horizon, depth=depth, load=True)
        self.outage.answered()
        return batch

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
        return self._claim(limit, busy or {}, self.clock()).claimed

    def _claim(
        self,
        limit: int,
        busy: Mapping[str, int],
        horizon: datetime,
        *,
        depth: int = 1,
        load: bool = False,
    ) -> Batch:
        """One claiming transaction: what is due by ``horizon`` and fits (``depth`` times each
        lane's slots), what comes next, and with ``load`` what each claimed delivery says."""
        if self._last_beat is None:
            # Other daemons take back the claims of one whose heartbeat went silent; a daemon
            # killed before its first beat would have none, and its claims would wait for
            # the lease (minutes) instead: no claim before this daemon's heartbeat exists.
            self.beat()
        room = {c: self._depth(c, depth) for c in self.per_channel}
        room.update(busy)
        return claim_due(
            self.engine,
            self.worker,
            now=self.clock(),
            horizon=horizon,
            limit=limit,
            room=room,
            default=self.default_per_channel * depth,
            load=load,
        )

    def _capacity(self, channel: str) -> int:
        return self.per_channel.get(channel, self.default_per_channel)

    def _runs_low(self, channel: str, flight: _Flight) -> bool:
        """A lane with due work waiting has no more claimed deliveries than slots: claim
        more now, so the next call is in memory when a slot frees (claiming at every freed
        slot costs a claim per call)."""
        return channel in flight.waiting and flight.busy[channel] <= self._capacity(channel)

    def _depth(self, channel: str, depth: int | None = None) -> int:
        """How many deliveries of ``channel`` the pipeline holds: its slots, times the depth."""
        return self._capacity(channel) * (self.lane_depth if depth is None else depth)

    def next_due(self) -> datetime | None:
        """When the earliest waiting delivery is due (None when nothing waits)."""
        with session_scope(self.engine, write=False) as session:
            return earliest_due(session, blocked_channels(session, self.clock()))

    def beat(self) -> None:
        """Write this daemon's heartbeat (every poll): other daemons then know it is alive."""
        now = self.clock()
        if self._started_at is None:
            self._started_at = now
        with session_scope(self.engine) as session:
            session.execute(
                upsert(session, DaemonHeartbeat)
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
        """Turn ``sending`` deliveries left by a dead daemon into uncertain retries; returns
        their ids. With ``everything`` (one daemon on SQLite, at start-up) every ``sending``
        row is an orphan; otherwise the claims of silent daemons and any claim older than the
        lease (the rules: :func:`scheduler.dispatch_claim.take_back`)."""
        return take_back(
            self.engine,
            self.worker,
            now=self.clock(),
            everything=everything,
            last_beat=self._last_beat,
            silent_after=self.silent_after,
            lease=self.lease,
            recovery_grace=self.recovery_grace,
        )

    # ------------------------------------------------------------------ one delivery

    async def _process(self, job: Job) -> Call:
        """Make the call at the job's due time (look first when the last attempt's outcome
        is unknown)."""
        if job.due is not None:
            ahead = (job.due - self.clock()).total_seconds()
            if ahead > 0:
                await asyncio.sleep(ahead)
        started = self.clock()
        lateness = (started - job.due).total_seconds() if job.due else 0.0
        channel = self.channels.get(job.channel)
        if channel is None:
            error = ContentError(f"channel {job.channel} is not configured any more")
            return Call(job, error, 0.0, lateness)
        async with self._overall(), self._channel_lock(job.channel):
            if job.channel in self._held:
                # An answer while this claim waited for its slot paused or blocked the
                # channel: give the delivery back untouched (no attempt was made).
                return Call(job, RELEASED, 0.0, lateness, "released")
            call = await make_call(channel, job, lateness, self.policy.lookup_tries)
            if call.holds_channel:
                # Before the slot is freed: the lane's next claims see it at once.
                self._held.add(job.channel)
            return call

    async def _finish(self, call: Call) -> AttemptResult:
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

    async def _record_grouped(self, job: Job, outcome: Outcome) -> tuple[str, str]:
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
        held: list[tuple[Job, Outcome, asyncio.Future[tuple[str, str]]]] = []
        wait = self.group_commit_seconds
        holding_since: float | None = None
        while self._unrecorded or held:
            await asyncio.sleep(wait)
            group, held, self._unrecorded = held + self._unrecorded, [], []
            try:
                answers = await self._in_database(
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

    async def _in_database(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on the loop's thread when it can go at once (see
        ``inline_database``), else in a worker thread."""
        inline = self.inline_database
        if inline is None:
            inline = self.engine.dialect.name == "sqlite"
        if inline:
            try:
                with without_waiting():
                    return work(*args)
            except WriteLockBusy:
                pass  # another writer holds the lock: wait for it off the loop
        return await asyncio.to_thread(work, *args)

    def _record(self, group: list[tuple[Job, Outcome]]) -> list[tuple[str, str] | Exception]:
        """Commit what happened to claimed deliveries, in one transaction.

        The group is written in one go: its rows loaded (and locked) in two reads, each result
        applied to them, the changed deliveries written with one statement, each post settled
        once. Only if that fails is it written again with a savepoint per result, so one
        result that cannot be written does not take the others with it. Returns (outcome
        label, detail), or the error, per result.
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
                rows = lock_group(session, [job for job, _ in group])
                succeeded: set[str] = set()
                for i in order:
                    answers[i] = self._record_one(session, rows, *group[i], now, succeeded)
                write_deliveries(session, rows)
                # Channel rows before the audit lock that settling takes: a failed result
                # locks its channel row first too, so every writer takes them in one order.
                touch_success(session, succeeded, now, self._success_written)
                self._settle(session, rows, {job.post_id for job, _ in group})
        except Exception as exc:
            if unavailable(exc):
                raise  # the database, not one result: the whole group waits for it
            log.warning("a group of %d results failed; writing them one by one", len(group))
            answers = {}
            with session_scope(self.engine) as session:
                for i in order:
                    job = group[i][0]
                    try:
                        with session.begin_nested():
                            # Read again for each: a rolled-back savepoint leaves no trace in
                            # the rows of the next.
                            rows = lock_group(session, [job])
                            succeeded = set()
                            answers[i] = self._record_one(session, rows, *group[i], now, succeeded)
                            write_deliveries(session, rows)
                            touch_success(session, succeeded, now, self._success_written)
                            self._settle(session, rows, {job.post_id})
                    except Exception as exc:
                        log.exception("delivery %s: result not recorded", job.delivery_id)
                        answers[i] = exc
        return [answers[i] for i in range(len(group))]

    def _record_one(
        self,
        session: Session,
        rows: GroupRows,
        job: Job,
        outcome: Outcome,
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
        rows.changed[delivery.id] = delivery
        if isinstance(outcome, Released):
            move(delivery, WAIT)
            return "released", "its channel is paused or blocked; it waits"
        label, detail = apply_outcome(session, delivery, outcome, now, self.policy, self.rng)
        if label == "published":
            succeeded.add(delivery.channel)
        return label, detail

    def _settle(self, session: Session, rows: GroupRows, post_ids: set[int]) -> None:
        self.queue.settle_rows(
            session,
            [(rows.posts[i], rows.by_post.get(i, [])) for i in sorted(post_ids) if i in rows.posts],
        )

    # ------------------------------------------------------------------ limits

    def _channel_lock(self, channel: str) -> asyncio.Semaphore:
        if channel not in self._channel_locks:
            self._channel_locks[channel] = asyncio.Semaphore(self._capacity(channel))
        return self._channel_locks[channel]

    def _overall(self) -> asyncio.Semaphore:
        if self._overall_lock is None:
            self._overall_lock = asyncio.Semaphore(self.overall)
        return self._overall_lock
