"""The daemon's part of the movement's calendar: each entry's drafts, ``lead_days`` ahead, once.

Every office hour the daemon looks for the entries whose window holds today (from
``lead_days`` before the date until the posts' own time, :func:`content.calendar_campaigns.due`)
and prepares each: the first daemon to try claims ``calendar/2026/NAME``
(:mod:`scheduler.report_once`), so several daemons on PostgreSQL and restarts prepare an entry
once a year. Preparing is idempotent anyway (a unit with a draft gets no other); the claim
keeps two daemons from racing over the same units. When a unit's draft could not be made
(a title its Zalo OA refuses), the claim is left unfinished and tried again
:data:`RETRY_AFTER` later: the units already served are not served twice, the fixed
configuration is picked up. ``loa calendar prepare`` does the same by hand, at any time.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine

from content.calendar_campaigns import FAILED, due, prepare
from content.messages import render
from content.queue import Queue
from scheduler import report_once
from scheduler.config import Config

log = logging.getLogger("loa.calendar")

JOB = "calendar"
#: An unfinished claim older than this is tried again (an attempt takes seconds).
RETRY_AFTER = timedelta(minutes=30)


def prepare_due(
    engine: Engine, config: Config, queue: Queue, now: datetime, *, worker: str
) -> list[str]:
    """The daemon's hourly job: prepare each due entry no daemon has prepared; returns the
    keys prepared now (``2026/NAME``). Safe to call often and from several daemons."""
    if not config.calendar:
        return []
    tz = config.directory().office.timezone
    done = []
    for one in due(config.calendar, now, tz):
        if not report_once.claim(engine, JOB, one.key, now, worker, retry_after=RETRY_AFTER):
            continue
        try:
            (result,) = prepare(queue, [one])
        except Exception as exc:
            report_once.fail(engine, JOB, one.key, " ".join(str(exc).split())[:500])
            log.error("calendar %s: %s", one.key, exc)
            continue
        made = [u for u, o in result.outcomes.items() if o != FAILED]
        if result.errors:
            problems = "; ".join(f"{u}: {render(e, 'en')}" for u, e in result.errors.items())
            report_once.fail(engine, JOB, one.key, problems)
            log.error("calendar %s: no draft for %s", one.key, problems)
            continue
        detail = f"{len(result.posts)} drafts ({result.count('created')} made now)"
        report_once.finish(engine, JOB, one.key, now, detail)
        log.info("calendar %s: %s for %d units", one.key, detail, len(made))
        done.append(one.key)
    return done
