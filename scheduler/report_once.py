"""Work done once across every daemon and restart, guarded by a unique :class:`JobRun` row.

The rule (used by the weekly report and the alert digest):

1. **Claim** by INSERTing ``JobRun(job, key)``. The unique constraint on (job, key) lets
   exactly one worker win, on SQLite and on PostgreSQL, even with several daemons.
2. On success the winner sets ``finished_at``: the work is done for good; every later
   claim of that key fails.
3. On failure the winner leaves ``finished_at`` empty and writes the error to ``detail``.
4. An unfinished row whose last attempt started ``retry_after`` ago or more may be claimed
   again, by one worker (a conditional UPDATE on ``started_at``). ``retry_after`` is longer
   than any attempt can last (the SMTP retries are bounded by timeouts), so a live attempt
   is never doubled; a failed one, or one whose daemon died, is retried later.

What this cannot promise: if a daemon dies after the server accepted the mail but before
``finished_at`` is committed (a window of milliseconds), the mail goes out again after
``retry_after``. Sending late twice was judged better than silently never.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from content.models import JobRun

_TABLE = JobRun.__table__  # type: ignore[attr-defined]
#: Longest an error text kept in ``detail`` gets.
_DETAIL_MAX = 2000


def claim(
    engine: Engine,
    job: str,
    key: str,
    now: datetime,
    worker: str,
    *,
    retry_after: timedelta,
) -> bool:
    """Take the (job, key) work for ``worker``; False when it is done or someone else has it."""
    if _insert(engine, job, key, now, worker):
        return True
    with engine.begin() as conn:
        result = conn.execute(
            update(_TABLE)
            .where(_TABLE.c.job == job, _TABLE.c.key == key)
            .where(_TABLE.c.finished_at.is_(None))
            .where(_TABLE.c.started_at <= now - retry_after)
            .values(started_at=now, worker=worker)
        )
        return result.rowcount == 1


def _insert(engine: Engine, job: str, key: str, now: datetime, worker: str) -> bool:
    values = {"job": job, "key": key, "started_at": now, "worker": worker}
    if engine.dialect.name == "postgresql":
        # No exception, no aborted transaction: the loser simply gets no row back.
        stmt = (
            pg_insert(_TABLE)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["job", "key"])
            .returning(_TABLE.c.id)
        )
        with engine.begin() as conn:
            return conn.execute(stmt).first() is not None
    try:
        # Its own transaction: the IntegrityError must not spoil any other work.
        with engine.begin() as conn:
            conn.execute(insert(_TABLE).values(**values))
    except IntegrityError:
        return False
    return True


def finish(engine: Engine, job: str, key: str, now: datetime, detail: str) -> None:
    """Mark the work done (no later claim succeeds)."""
    with engine.begin() as conn:
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.job == job, _TABLE.c.key == key)
            .values(finished_at=now, detail=detail[:_DETAIL_MAX])
        )


def fail(engine: Engine, job: str, key: str, error: str) -> None:
    """Record a failed attempt; the row stays unfinished so a later claim retries it."""
    with engine.begin() as conn:
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.job == job, _TABLE.c.key == key)
            .where(_TABLE.c.finished_at.is_(None))
            .values(detail=f"failed: {error}"[:_DETAIL_MAX])
        )


def record_done(
    engine: Engine, job: str, key: str, now: datetime, worker: str, detail: str
) -> None:
    """Mark the work done whether or not it was claimed (a forced run by a person)."""
    if _insert(engine, job, key, now, worker):
        finish(engine, job, key, now, detail)
        return
    with engine.begin() as conn:
        conn.execute(
            update(_TABLE)
            .where(_TABLE.c.job == job, _TABLE.c.key == key)
            .values(finished_at=now, worker=worker, detail=detail[:_DETAIL_MAX])
        )
