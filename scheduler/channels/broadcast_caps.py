"""Zalo's per-follower broadcast caps, tracked instead of discovered.

Each follower receives at most one broadcast a day and a few a month (by the OA's
package); Zalo does not refuse a broadcast over the cap, it silently skips the followers
who are at it. So Loa keeps its own ledger: one row per OA per office day (the unique
JobRun row makes it hold across several daemons), and a broadcast that would exceed a cap
waits for the next day or is skipped for the month, with the reason said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from content.models import JobRun

#: Zalo's broadcasts leave from 06:00 (the night ban ends), office time.
MORNING = time(6, 0)


@dataclass(frozen=True)
class Verdict:
    """Whether a broadcast may go now: ``ok``, or wait until ``retry_at``, or skip."""

    ok: bool
    reason: str = ""
    retry_at: datetime | None = None


class BroadcastLedger:
    """Counts one OA's broadcasts per office day and month in the database."""

    def __init__(self, engine: Engine, tz: ZoneInfo, per_month: int) -> None:
        self.engine = engine
        self.tz = tz
        self.per_month = per_month

    def reserve(
        self, channel: str, now: datetime, *, worker: str = "loa", holder: str | None = None
    ) -> Verdict:
        """Take today's broadcast for ``channel`` if the caps allow it.

        ``holder`` names what the broadcast is for (the article): a retry of the same
        broadcast (refused before sending, e.g. rate-limited) finds its own reservation and
        goes, instead of waiting for tomorrow behind itself.
        """
        local = now.astimezone(self.tz)
        job = f"zalo_broadcast:{channel}"
        month = local.strftime("%Y-%m")
        with Session(self.engine) as session:
            if holder is not None:
                mine = session.exec(
                    select(JobRun.id)
                    .where(JobRun.job == job)
                    .where(JobRun.key == local.date().isoformat())
                    .where(JobRun.detail == holder)
                ).first()
                if mine is not None:
                    return Verdict(True)
            used = session.exec(
                select(func.count())
                .select_from(JobRun)
                .where(JobRun.job == job)
                .where(col(JobRun.key).startswith(month))
            ).one()
            if used >= self.per_month:
                return Verdict(
                    False, f"followers already got {used} broadcasts in {month} (the cap)"
                )
            session.add(
                JobRun(
                    job=job,
                    key=local.date().isoformat(),
                    started_at=now,
                    worker=worker,
                    detail=holder,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                tomorrow = datetime.combine(local.date() + timedelta(days=1), MORNING, self.tz)
                return Verdict(
                    False,
                    "followers already got a broadcast today (at most one a day)",
                    retry_at=tomorrow,
                )
        return Verdict(True)
