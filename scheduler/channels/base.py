"""The one small interface every platform client implements, and the shared error model.

The dispatcher, the metrics collector and ``loa doctor`` only ever see these types: a
platform's quirks (error codes, token handling, asynchronous article creation) stay in
its own client module.

How the dispatcher drives a client (the contract the clients are written against):

* ``publish(post)`` returns :class:`Published` (done: store ``remote_id``/``permalink``) or
  :class:`Processing` (store ``step``/``ref`` as the delivery's ``pending_step``/
  ``pending_ref``, call ``publish`` again after ``retry_after`` seconds with them set). A later
  call with a pending step continues that step; it never creates the post again.
* ``pending_step``/``pending_ref`` survive a :class:`TransientError` (retry the same step);
  clear them only on ``Published`` or a final failure.
* :class:`TransientError`: retry after ``retry_after`` if given, else with backoff and
  jitter. If ``uncertain`` is True the post may exist: **never re-send blindly**; call
  ``find(post)`` first (with ``first_attempt_at`` set) and treat a hit as ``Published``; only
  when ``find`` returns None send again. The same applies to a delivery found ``sending``
  after a crash. ``find`` can itself raise ChannelError: then keep waiting, do not re-send.
* :class:`AuthError`: pause the channel and alert (token, permission or account problem).
* :class:`ContentError`: fail this delivery with the platform's message; do not retry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class MediaBlob:
    """An image to publish, already in the database."""

    filename: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class OutgoingPost:
    """One delivery's content, as the client needs it."""

    delivery_id: int
    channel: str
    text: str
    title: str | None = None
    link: str | None = None
    images: Sequence[MediaBlob] = ()
    #: Content fingerprint (see content.queue.fingerprint): finds the post again on the platform.
    fingerprint: str = ""
    #: When the first attempt was made: lookups for an existing post start here.
    first_attempt_at: datetime | None = None
    #: A platform step still in progress from an earlier attempt (e.g. a Zalo article job).
    pending_step: str | None = None
    pending_ref: str | None = None
    #: The previous attempt's outcome is unknown (a timeout or 5xx after sending, or a daemon
    #: that died mid-call): a step that writes must not be repeated blindly.
    uncertain: bool = False
    #: ``{"template": name, "fields": {...}}`` when the post carries an infographic
    #: (Post.infographic): Zalo renders it as the article cover.
    infographic: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Published:
    """The platform has the post."""

    remote_id: str
    permalink: str | None = None
    #: Something the office should know although the post is out (e.g. a Zalo broadcast
    #: whose outcome is unknown and that is not sent again): raised as an alert.
    warning: str | None = None


@dataclass(frozen=True)
class Processing:
    """Accepted but not finished (Zalo builds articles asynchronously): ask again later."""

    step: str
    ref: str
    retry_after: float = 3.0


@dataclass(frozen=True)
class HealthCheck:
    """One line of a health report."""

    name: str
    ok: bool
    detail: str
    #: What a person should do about it, when the client knows better than a generic hint
    #: (e.g. which permission to grant and where).
    advice: str = ""
    #: Works now but needs attention soon (e.g. the Graph version's end date is near).
    warning: bool = False


@dataclass(frozen=True)
class Health:
    """A channel's health: token, permissions, reachability, rate-limit headroom."""

    checks: Sequence[HealthCheck]
    #: Fraction of the platform's rate budget still free (0..1), when the platform says.
    headroom: float | None = None

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)


class ChannelError(Exception):
    """A platform refused or failed a call. Keeps the platform's own code and message.

    The message never contains a token.
    """

    error_class = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        subcode: str | int | None = None,
        platform: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = None if code is None else str(code)
        self.subcode = None if subcode is None else str(subcode)
        self.platform = platform

    def code_text(self) -> str | None:
        """``code/subcode`` as stored on the delivery."""
        if self.code is None:
            return None
        return f"{self.code}/{self.subcode}" if self.subcode else self.code


class TransientError(ChannelError):
    """Try again later: 5xx, timeouts, connection errors, rate limits.

    ``retry_after`` is the platform's own wait (seconds) when it names one. ``uncertain``
    is True when the request may have reached the platform (a publish that timed out after
    sending, a 5xx): the post may exist, so the caller must look before sending again.
    ``channel_wide`` is True when the wait holds for every call on the channel (rate limits,
    quotas), not just this post (e.g. Zalo's night ban on one broadcast).
    """

    error_class = "transient"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        uncertain: bool = False,
        channel_wide: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.uncertain = uncertain
        self.channel_wide = channel_wide


class AuthError(ChannelError):
    """The token is invalid, expired, revoked or lacks a permission: pause the channel."""

    error_class = "auth"


class ContentError(ChannelError):
    """The platform refused this content (duplicate, too long, bad image, policy): do not retry."""

    error_class = "content"


@runtime_checkable
class Channel(Protocol):
    """A publishing client for one Page or OA."""

    id: str
    kind: str

    async def publish(self, post: OutgoingPost) -> Published | Processing:
        """Publish, or continue a step left pending by an earlier attempt."""
        ...

    async def find(self, post: OutgoingPost) -> Published | Processing | None:
        """Look for this post on the platform (recent posts matching its fingerprint).

        The dispatcher calls this before re-sending an attempt whose outcome is unknown and
        when it finds a delivery left ``sending`` by a crash. Returns the post when found and
        None only when the platform surely does not have it (then it is sent again). When
        the client cannot tell (the platform is unreachable, or it may still be processing
        the post), it raises TransientError instead: the delivery is never sent blindly.
        A found post that still has a step to come (a Zalo broadcast) is :class:`Processing`.
        """
        ...

    async def fetch_metrics(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Engagement figures per remote id: {"reactions": 3, "comments": 1, "views": 120, ...}."""
        ...

    async def followers(self) -> int | None:
        """The Page's or OA's follower count now (None when the platform does not say)."""
        ...

    async def health(self) -> Health:
        """Token valid, permissions, account reachable, rate-limit headroom."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        ...


#: Metric names every client reports where the platform has them.
STANDARD_METRICS = ("views", "reach", "reactions", "comments", "shares", "clicks")
