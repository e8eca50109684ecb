"""The dispatcher's call: one claimed delivery to its platform, and what it ended with.

An attempt whose last outcome is unknown first asks the channel whether the post is
already there (:meth:`Channel.find`) and only sends again when it surely is not. A call
never passes an unforeseen error for "not sent": it is an uncertain transient error.

When the call is made (its due time, the lanes' slots) is the dispatcher's
(:class:`scheduler.dispatch.Dispatcher`); recording what it ended with is
:mod:`scheduler.dispatch_record`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from scheduler.channels.base import (
    AuthError,
    Channel,
    ChannelError,
    ContentError,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.dispatch_claim import Job

log = logging.getLogger("loa.dispatch")

_T = TypeVar("_T")


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


@dataclass(frozen=True)
class Released:
    """Not called: an earlier answer held the channel while this claim waited for a slot."""


RELEASED = Released()

#: What a call ends with, as the recorder takes it.
Outcome = Published | Processing | ChannelError | Released


@dataclass
class Call:
    """A finished call, waiting to be recorded."""

    job: Job
    outcome: Outcome
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


async def call(channel: Channel, job: Job, lateness: float, lookup_tries: int) -> Call:
    """Publish ``job`` through ``channel`` (look first when its last outcome is unknown;
    continue a step the platform accepted); ``lookup_tries`` calls per look-up or step."""
    t0 = time.perf_counter()
    try:
        outcome: Published | Processing | ChannelError
        if job.uncertain and not job.post.pending_step:
            found = await _look_up(channel, job.post, lookup_tries)
            if found is not None:
                return Call(job, found, _since(t0), lateness, "found")
        if job.post.pending_step:
            outcome = await _continue(channel, job.post, lookup_tries)
        else:
            outcome = await channel.publish(job.post)
    except ChannelError as exc:
        outcome = exc
    except Exception as exc:  # a bug or an unforeseen answer: never assume "not sent"
        log.exception("delivery %s: unexpected error from %s", job.delivery_id, job.channel)
        outcome = TransientError(
            f"unexpected {type(exc).__name__}: {exc}", uncertain=True, platform="loa"
        )
    return Call(job, outcome, _since(t0), lateness)


async def _look_up(
    channel: Channel, post: OutgoingPost, tries: int
) -> Published | Processing | None:
    """Whether the platform already has ``post``.

    A look-up only reads: a call it makes that the platform refuses says nothing about
    the post, so it must neither fail the delivery (as a refused publish would) nor pass
    for "not there". It is "could not tell", and the delivery stays uncertain.
    """
    try:
        return await _asking_again(lambda: channel.find(post), post, "look-up", tries)
    except ContentError as exc:
        raise TransientError(
            f"look-up failed: {exc.message}", code=exc.code, platform=exc.platform
        ) from None


async def _continue(channel: Channel, post: OutgoingPost, tries: int) -> Published | Processing:
    """Continue a step the platform already accepted (a Zalo article being processed or
    broadcast): each failed attempt brings a post the platform has closer to needing a
    person, so a failure that surely changed nothing is asked again at once."""
    return await _asking_again(
        lambda: channel.publish(post), post, post.pending_step or "step", tries
    )


async def _asking_again(
    call: Callable[[], Awaitable[_T]], post: OutgoingPost, what: str, tries: int
) -> _T:
    """``call()``, asked again at once (up to ``tries`` calls, the retry policy's
    ``lookup_tries``) after a failure that changed nothing and names no wait: a rate
    limit's wait is the platform's to set, and an uncertain failure may have changed
    something."""
    for _ in range(tries - 1):
        try:
            return await call()
        except TransientError as exc:
            if exc.uncertain or exc.retry_after is not None:
                raise
            log.info("delivery %s: %s failed (%s); asking again", post.delivery_id, what, exc)
    return await call()


def _since(t0: float) -> float:
    return time.perf_counter() - t0
