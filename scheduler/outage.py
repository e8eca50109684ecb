"""One log line when the database stops answering, one when it answers again.

A SQLite write lock held by another process past the busy timeout, or a PostgreSQL server
restarting, is an expected fault of a long-running daemon: the work waits (results stay in
memory, claims and polls are tried again) and the log says so once per incident, without a
traceback, instead of once per failed statement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from content.db import describe, unavailable


class DatabaseOutage:
    """The current database incident, if any: when it started and how often it failed."""

    def __init__(self, log: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self._clock = clock
        self.since: float | None = None
        self.failures = 0

    @property
    def active(self) -> bool:
        """True while the last database call of this process failed."""
        return self.since is not None

    def failed(self, exc: BaseException, doing: str) -> None:
        """A call failed because the database is busy or unreachable; logs the first only."""
        self.failures += 1
        if self.since is None:
            self.since = self._clock()
            self._log.warning(
                "database unavailable while %s (%s); waiting for it, nothing is re-sent",
                doing,
                describe(exc),
            )

    def absorbed(self, exc: BaseException, doing: str) -> bool:
        """True when ``exc`` says the database is busy or unreachable: the incident is noted
        (logged once) and the caller waits for the next try; False for any other error."""
        if not unavailable(exc):
            return False
        self.failed(exc, doing)
        return True

    def answered(self) -> None:
        """A call succeeded: ends the incident (logged once) if there was one."""
        if self.since is None:
            return
        self._log.warning(
            "database answers again after %.1f s (%d failed calls meanwhile)",
            self._clock() - self.since,
            self.failures,
        )
        self.since = None
        self.failures = 0
