"""Is the queue moving? The one definition of "healthy" for `loa status` and the TUI's banner.

A post due 23:09 with no daemon running still looked fine at 23:16: the TUI said
"scheduled" and `loa status` counted lateness from the next retry. Every face now asks
:func:`read_health`, which counts lateness from the post's scheduled time and names what
is wrong as data (a code and its figures); each face words the problems itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from content.db import session_scope
from content.models import ChannelState, DaemonHeartbeat, Delivery, DeliveryState, Post, PostState

#: A daemon whose heartbeat is older than this is dead (it beats every poll, 5 s by default).
#: The dispatcher takes back a silent daemon's claims after it, and the faces say no daemon runs.
SILENT_AFTER = timedelta(seconds=30)

#: A delivery still waiting this long after its post's time counts as late.
LATE_AFTER = timedelta(minutes=1)

#: Problem codes, most urgent first (the order the faces list them in).
NO_DAEMON = "no_daemon"
LATE = "late"
FAILED = "failed"
NEEDS_REVIEW = "needs_review"
PAUSED = "paused"
PROBLEM_ORDER = (NO_DAEMON, LATE, FAILED, NEEDS_REVIEW, PAUSED)


class Problem(NamedTuple):
    """One thing wrong: a code of :data:`PROBLEM_ORDER` and its figures.

    ``no_daemon``: ``since`` (the newest heartbeat, None when none was ever written or the
    last daemon stopped cleanly) and ``waiting``; ``late``: ``n`` deliveries of ``posts``
    posts; ``failed``, ``needs_review``: ``n`` deliveries; ``paused``: ``channels`` (sorted).
    """

    code: str
    params: dict[str, Any]


@dataclass(frozen=True)
class DaemonBeat:
    """One daemon's last heartbeat."""

    worker: str
    started_at: datetime
    seen_at: datetime
    alive: bool


@dataclass(frozen=True)
class Health:
    """What :func:`read_health` found at ``checked_at`` (plain values, safe between threads)."""

    checked_at: datetime
    #: Deliveries armed for the daemon (pending with a time), including late ones.
    waiting: int = 0
    late: int = 0
    #: Posts with a late delivery (what an officer counts: the queue lists posts).
    late_posts: int = 0
    failed: int = 0
    needs_review: int = 0
    paused: tuple[str, ...] = ()
    #: Every daemon that left a heartbeat, newest first.
    daemons: tuple[DaemonBeat, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def healthy(self) -> bool:
        """True when nothing needs a person: every face shows it as "all well"."""
        return not self.problems

    @property
    def daemon_alive(self) -> bool:
        """True when at least one daemon beat within :data:`SILENT_AFTER`."""
        return any(d.alive for d in self.daemons)

    def problem(self, code: str) -> Problem | None:
        """The problem with ``code``, or None when there is none."""
        return next((p for p in self.problems if p.code == code), None)


def is_late(scheduled_at: datetime | None, delivery_states: Iterable[str], now: datetime) -> bool:
    """True when a post's time is :data:`LATE_AFTER` past and a delivery still waits.

    The queue's row test, matching :func:`read_health`'s count: lateness runs from the
    scheduled time, whatever retry time a failing delivery was pushed to. A delivery being
    sent right now is not late, it is on its way.
    """
    if scheduled_at is None or scheduled_at > now - LATE_AFTER:
        return False
    return any(s == DeliveryState.PENDING for s in delivery_states)


def _on(query: Any, visible: Collection[str] | None) -> Any:
    """``query`` (over Delivery) narrowed to the channels of an account's units."""
    if visible is None:
        return query
    return query.where(col(Delivery.channel).in_(sorted(visible)))


def read_health(engine: Engine, now: datetime, *, visible: frozenset[str] | None = None) -> Health:
    """Late, failed and to-check deliveries, paused channels and the daemons' heartbeats.

    ``visible``: the channels of the signed-in account's units (None: every channel, see
    :func:`content.listing.visible_to`), so a ward officer's figures are his ward's. The
    daemons are counted whoever asks: one daemon publishes for every unit.
    """
    # A draft's deliveries are pending too, but they wait for a person, not the daemon.
    armed = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.state == DeliveryState.PENDING)
        .where(col(Delivery.next_attempt_at).is_not(None))
    )
    with session_scope(engine, write=False) as session:
        waiting = session.exec(_on(armed, visible)).one()
        late, late_posts = _late(session, now, visible)
        counts = _settled(session, visible)
        paused_query = select(ChannelState.channel).where(col(ChannelState.paused).is_(True))
        if visible is not None:
            paused_query = paused_query.where(col(ChannelState.channel).in_(sorted(visible)))
        paused = tuple(sorted(session.exec(paused_query).all()))
        beats = session.exec(
            select(DaemonHeartbeat).order_by(col(DaemonHeartbeat.seen_at).desc())
        ).all()
    daemons = tuple(
        DaemonBeat(b.worker, b.started_at, b.seen_at, now - b.seen_at <= SILENT_AFTER)
        for b in beats
    )
    health = Health(
        checked_at=now,
        waiting=int(waiting),
        late=int(late),
        late_posts=int(late_posts),
        failed=counts.get(DeliveryState.FAILED, 0),
        needs_review=counts.get(DeliveryState.NEEDS_REVIEW, 0),
        paused=paused,
        daemons=daemons,
    )
    return replace(health, problems=_problems(health))


def _late(session: Session, now: datetime, visible: Collection[str] | None) -> tuple[int, int]:
    """Armed deliveries past their due time by more than LATE_AFTER, and their posts."""
    # Scheduled time, not next_attempt_at: a post due 23:09 whose retry was pushed to 23:14
    # (or that no daemon ever picked up) is late at 23:10. A delivery without a post time
    # (a "now" post) is due at its next attempt.
    due_at = func.coalesce(Post.scheduled_at, Delivery.next_attempt_at)
    late_query = _on(
        select(func.count(), func.count(col(Delivery.post_id).distinct()))
        .select_from(Delivery)
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .where(Delivery.state == DeliveryState.PENDING)
        .where(col(Delivery.next_attempt_at).is_not(None))
        .where(due_at <= now - LATE_AFTER),
        visible,
    )
    late, late_posts = session.exec(late_query).one()
    return int(late), int(late_posts)


def _settled(session: Session, visible: Collection[str] | None) -> dict[str, int]:
    """Per state (failed, needs review): deliveries that wait for a person."""
    # A failed delivery of a cancelled post needs nobody: the TUI's "!" list skips it too.
    settled = session.exec(
        _on(
            select(Delivery.state, func.count())
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(col(Delivery.state).in_([DeliveryState.FAILED, DeliveryState.NEEDS_REVIEW]))
            .where(col(Post.state) != PostState.CANCELLED)
            .group_by(col(Delivery.state)),
            visible,
        )
    ).all()
    return {state: int(n) for state, n in settled}


def _problems(h: Health) -> tuple[Problem, ...]:
    """What is wrong in ``h``, most urgent first."""
    found: list[Problem] = []
    # No daemon matters only while something waits for one: a fresh install with drafts
    # only, or a quiet night, is fine.
    if h.waiting and not h.daemon_alive:
        since = h.daemons[0].seen_at if h.daemons else None
        found.append(Problem(NO_DAEMON, {"since": since, "waiting": h.waiting}))
    if h.late:
        found.append(Problem(LATE, {"n": h.late, "posts": h.late_posts}))
    for code, n in ((FAILED, h.failed), (NEEDS_REVIEW, h.needs_review)):
        if n:
            found.append(Problem(code, {"n": n}))
    if h.paused:
        found.append(Problem(PAUSED, {"channels": list(h.paused)}))
    return tuple(found)
