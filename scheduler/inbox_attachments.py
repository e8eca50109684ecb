"""Download citizens' attachments while their URLs still work.

Both platforms' attachment URLs expire (docs/platforms/zalo-oa.md#message-events-and-attachments,
docs/platforms/facebook-graph.md#attachment-urls).

:class:`AttachmentFetcher` runs right after webhook events become messages (the receiver's
worker and the daemon's processing job both call it through
:meth:`scheduler.inbox_jobs.EventProcessor.run`), and after a backfill. Each download is
bounded: by size (:data:`content.inbox_media.MAX_BYTES`, counted while reading, never
trusting a Content-Length), by time (:data:`DOWNLOAD_SECONDS` for the whole transfer) and by
type (the bytes' magic numbers). The bytes are sealed and stored in short transactions, one
per message, so a slow download never holds the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine

from content import inbox_media
from content.db import session_scope
from content.inbox_media import Fetched, Wanted
from content.sealed import Sealer
from content.times import utcnow

log = logging.getLogger("loa.inbox")

#: The longest one download may take, start to last byte.
DOWNLOAD_SECONDS = 20.0
#: Connect and read timeouts of each step.
STEP_SECONDS = 10.0
#: Messages looked at per run (a run is called again after each processing batch).
MESSAGES_PER_RUN = 20
_CHUNK = 64 * 1024


@dataclass
class FetchOutcome:
    """How many attachments a run stored, found expired, refused or could not fetch yet."""

    stored: int = 0
    expired: int = 0
    refused: int = 0
    failed: int = 0
    #: Messages looked at.
    messages: int = 0

    def add(self, state: str) -> None:
        """Count one attachment in ``state``."""
        name = {"stored": "stored", "expired": "expired", "refused": "refused"}.get(state)
        if name is None:
            self.failed += 1
        else:
            setattr(self, name, getattr(self, name) + 1)


@dataclass
class AttachmentFetcher:
    """Downloads pending attachments and stores them sealed."""

    engine: Engine
    sealer: Sealer
    clock: Callable[[], datetime] = utcnow
    #: Tests give the sandbox's transport; None is the network.
    transport: httpx.BaseTransport | None = None
    deadline: float = DOWNLOAD_SECONDS
    _monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)

    def run(self, *, limit: int = MESSAGES_PER_RUN) -> FetchOutcome:
        """Download what is pending for up to ``limit`` messages."""
        outcome = FetchOutcome()
        work = inbox_media.pending(self.engine, self.sealer, limit=limit)
        outcome.messages = len(work)
        if not work:
            return outcome
        # trust_env=False: an environment proxy must not see citizens' evidence.
        with httpx.Client(
            transport=self.transport,
            timeout=STEP_SECONDS,
            trust_env=False,
            follow_redirects=True,
            max_redirects=3,
        ) as client:
            for message_id, wanted in work:
                results = [(w, self.download(client, w)) for w in wanted]
                with session_scope(self.engine) as session:
                    states = [
                        inbox_media.record(session, self.sealer, w, got, self.clock())
                        for w, got in results
                    ]
                    retry = any(
                        s == inbox_media.FAILED and w.tries + 1 < inbox_media.MAX_TRIES
                        for (w, _), s in zip(results, states, strict=True)
                    )
                    if not retry:
                        inbox_media.settle(session, message_id)
                for state in states:
                    outcome.add(state)
        if outcome.expired or outcome.refused or outcome.failed:
            log.info(
                "inbox attachments: %d kept, %d expired, %d refused, %d not fetched yet",
                outcome.stored,
                outcome.expired,
                outcome.refused,
                outcome.failed,
            )
        return outcome

    def download(self, client: httpx.Client, wanted: Wanted) -> Fetched:
        """GET one attachment within its size and time bounds."""
        limit = inbox_media.MAX_BYTES.get(wanted.kind, 0)
        started = self._monotonic()
        try:
            with client.stream("GET", wanted.url) as response:
                status = response.status_code
                if status in (401, 403, 404, 410):
                    # What an expired CDN link answers: it will never work again.
                    return Fetched(problem=f"http_{status}", expired=True)
                if status != 200:
                    return Fetched(problem=f"http_{status}", passing=status >= 500 or status == 429)
                data = bytearray()
                for chunk in response.iter_bytes(_CHUNK):
                    data.extend(chunk)
                    if len(data) > limit:
                        return Fetched(problem="too_large")
                    if self._monotonic() - started > self.deadline:
                        return Fetched(problem="timeout", passing=True)
        except httpx.TimeoutException:
            return Fetched(problem="timeout", passing=True)
        except (httpx.HTTPError, ValueError) as exc:
            return Fetched(problem=f"unreachable: {type(exc).__name__}"[:100], passing=True)
        if not data:
            return Fetched(problem="empty", passing=True)
        return Fetched(data=bytes(data))
