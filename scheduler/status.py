"""What `loa status` reports: is the queue moving, and what needs a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import col, select

from content.db import session_scope
from content.health import LATE_AFTER as LATE_AFTER
from content.health import Health, read_health
from content.models import ChannelState, Delivery, DeliveryState


@dataclass
class DaemonStatus:
    """One daemon's heartbeat."""

    worker: str
    started_at: datetime
    seen_at: datetime
    alive: bool


@dataclass
class ChannelStatus:
    """One channel's line."""

    channel: str
    waiting: int = 0
    failed: int = 0
    needs_review: int = 0
    paused: bool = False
    paused_reason: str | None = None
    last_success_at: datetime | None = None


@dataclass
class QueueStatus:
    """The whole report."""

    waiting: int
    due_now: int
    late: int
    sending: int
    failed: int
    needs_review: int
    channels: list[ChannelStatus] = field(default_factory=list)
    #: Daemons that have written a heartbeat, newest first; none alive means nothing is sent.
    daemons: list[DaemonStatus] = field(default_factory=list)
    #: What is wrong, as :mod:`content.health` defines it (the TUI's banner reads the same).
    health: Health | None = None

    @property
    def healthy(self) -> bool:
        """True when nothing needs a person (``loa status`` then exits 0)."""
        return self.health is None or self.health.healthy


def queue_status(engine: Engine, now: datetime, channel_ids: list[str]) -> QueueStatus:
    """Counts by state, lateness and per-channel health, from the database alone."""
    with session_scope(engine, write=False) as session:
        # A draft's deliveries are pending too, but they wait for a person, not the daemon.
        by_channel_state = session.exec(
            select(Delivery.channel, Delivery.state, func.count())
            .where(
                (col(Delivery.state) != DeliveryState.PENDING)
                | col(Delivery.next_attempt_at).is_not(None)
            )
            .group_by(col(Delivery.channel), col(Delivery.state))
        ).all()
        due_now = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.state == DeliveryState.PENDING)
            .where(col(Delivery.next_attempt_at) <= now)
        ).one()
        states = {s.channel: s for s in session.exec(select(ChannelState)).all()}
    # Lateness and the daemons come from the one definition the TUI's banner also reads.
    health = read_health(engine, now)
    channels = {c: ChannelStatus(c) for c in channel_ids}
    totals: dict[str, int] = {}
    for channel, state, count in by_channel_state:
        totals[state] = totals.get(state, 0) + count
        line = channels.setdefault(channel, ChannelStatus(channel))
        if state == DeliveryState.PENDING:
            line.waiting += count
        elif state == DeliveryState.FAILED:
            line.failed += count
        elif state == DeliveryState.NEEDS_REVIEW:
            line.needs_review += count
    for channel, line in channels.items():
        if channel in states:
            line.paused = states[channel].paused
            line.paused_reason = states[channel].paused_reason
            line.last_success_at = states[channel].last_success_at
    return QueueStatus(
        waiting=totals.get(DeliveryState.PENDING, 0),
        due_now=due_now,
        late=health.late,
        sending=totals.get(DeliveryState.SENDING, 0),
        failed=totals.get(DeliveryState.FAILED, 0),
        needs_review=totals.get(DeliveryState.NEEDS_REVIEW, 0),
        channels=list(channels.values()),
        daemons=[DaemonStatus(d.worker, d.started_at, d.seen_at, d.alive) for d in health.daemons],
        health=health,
    )
