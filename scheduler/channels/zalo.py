"""Zalo Official Account client (the platform's facts: docs/platforms/zalo-oa.md).

Publishing an article is asynchronous on Zalo, so :meth:`ZaloOA.publish` is a small state
machine driven by the dispatcher through ``OutgoingPost.pending_step``:

1. no pending step: images go to the media store, ``article/create`` answers a job token ->
   ``Processing("zalo_verify", ref=<job token>)``;
2. ``zalo_verify``: one ``article/verify`` poll. Still processing (-214) -> ``Processing``
   again with a growing ``retry_after``; done -> ``Published(article id, link)``, or, when the
   channel broadcasts, ``Processing("zalo_broadcast", ref=<article id>, retry_after=0)``;
3. ``zalo_broadcast``: send the article to followers, then ``Published``. At night Zalo
   refuses (-234): ``TransientError(retry_after=<seconds until 06:00>)``, never a failure.
   A broadcast is never sent twice: Zalo has no way to look one up, so when an earlier call
   may have reached Zalo (``post.uncertain``, or this call timed out or answered 5xx) the
   step ends ``Published`` with a warning instead of sending again.

The rest is delegated, each to its module: the OpenAPI calls themselves (the access token,
its refresh, reads asked again) to :mod:`~scheduler.channels.zalo_transport`, the article
list (the look-up walk, the figures) to :mod:`~scheduler.channels.zalo_read`, ``loa doctor``'s
checks to :mod:`~scheduler.channels.zalo_health`, the citizens' calls to
:mod:`~scheduler.channels.zalo_inbox`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from content import infographic
from content.inbox import Inbound
from content.limits import nfc
from scheduler.channels.base import (
    AuthError,
    ChannelError,
    ContentError,
    Health,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.channels.broadcast_caps import BroadcastLedger
from scheduler.channels.credentials import TokenStore
from scheduler.channels.media_store import MediaStore
from scheduler.channels.zalo_article import (
    article_title,
    body_fingerprint,
    build_article,
    paragraphs,
)
from scheduler.channels.zalo_errors import PLATFORM, TOKEN_CODES
from scheduler.channels.zalo_health import OaHealth
from scheduler.channels.zalo_inbox import OaInbox
from scheduler.channels.zalo_read import ArticleList, created_ms
from scheduler.channels.zalo_transport import READ_TRIES, Clock, Pending, ZaloTransport, log
from scheduler.config import ZaloChannel

#: Names others import from here (the tests, the channel registry).
__all__ = [
    "BROADCAST_STEP",
    "READ_TRIES",
    "VERIFY_STEP",
    "ZaloOA",
    "created_ms",
]

VERIFY_STEP = "zalo_verify"
BROADCAST_STEP = "zalo_broadcast"
#: First wait before verifying a new article (one production client polls every 3 s).
VERIFY_FIRST_WAIT = 3.0
#: Longest wait between verify polls.
VERIFY_MAX_WAIT = 120.0
#: The warning of a broadcast that may have reached followers and is not sent again.
BROADCAST_UNKNOWN = "broadcast outcome unknown; not re-sent"
#: find() ignores articles created this long before the first attempt.
FIND_MARGIN = timedelta(minutes=10)


class ZaloOA:
    """Publishes articles to one Zalo Official Account and reads their figures."""

    kind = "zalo_oa"

    def __init__(
        self,
        channel_id: str,
        config: ZaloChannel,
        *,
        tokens: TokenStore,
        media: MediaStore | None,
        branding: infographic.Branding | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        ledger: BroadcastLedger | None = None,
    ) -> None:
        self.id = channel_id
        self._ledger = ledger
        self.config = config
        self._media = media
        self._branding = branding
        self._clock = clock or (lambda: datetime.now(UTC))
        self._api = ZaloTransport(
            channel_id, config, tokens=tokens, clock=self._clock, transport=transport
        )
        self._articles = ArticleList(self._api)
        self._health = OaHealth(self._api, media)
        self._inbox = OaInbox(self._api)

    def __repr__(self) -> str:
        return f"ZaloOA(id={self.id!r}, oa_id={self.config.oa_id!r})"

    @property
    def author(self) -> str:
        """The article author line: configured, else the channel's name."""
        return self.config.author or self.config.name

    # ------------------------------------------------------------------ publishing

    async def publish(self, post: OutgoingPost) -> Published | Processing:
        """Create the article, or continue the step an earlier call left pending."""
        if post.pending_step == VERIFY_STEP and post.pending_ref:
            return await self._verify(post, post.pending_ref)
        if post.pending_step == BROADCAST_STEP and post.pending_ref:
            return await self._broadcast(post, post.pending_ref)
        return await self._create(post)

    async def _create(self, post: OutgoingPost) -> Processing:
        if self._media is None:
            raise AuthError(
                f"{self.id}: Zalo fetches images from public URLs; add a [media] table "
                "(directory, public_base_url) to channels.toml",
                platform=PLATFORM,
            )
        # Rendering and re-encoding images is Pillow work: keep it off the event loop.
        article = await asyncio.to_thread(
            build_article, post, author=self.author, store=self._media, branding=self._branding
        )
        data = await self._api.call(
            "POST", "v2.0/article/create", json=article, step="create", publish=True
        )
        token = (data or {}).get("token")
        if not token:
            raise TransientError(
                "Zalo accepted the article without a job token", uncertain=True, platform=PLATFORM
            )
        log.info("%s: article job created for delivery %s", self.id, post.delivery_id)
        return Processing(step=VERIFY_STEP, ref=str(token), retry_after=VERIFY_FIRST_WAIT)

    async def _verify(self, post: OutgoingPost, job: str) -> Published | Processing:
        try:
            data = await self._api.call(
                "POST", "v2.0/article/verify", json={"token": job}, step="verify"
            )
        except Pending:
            return Processing(step=VERIFY_STEP, ref=job, retry_after=self._verify_wait(post))
        article_id = str((data or {}).get("id") or (data or {}).get("article_id") or "")
        if not article_id:
            return Processing(step=VERIFY_STEP, ref=job, retry_after=self._verify_wait(post))
        log.info("%s: article %s verified", self.id, article_id)
        if self.config.broadcast:
            return Processing(step=BROADCAST_STEP, ref=article_id, retry_after=0.0)
        return Published(remote_id=article_id, permalink=await self._link(article_id))

    def _verify_wait(self, post: OutgoingPost) -> float:
        """Grows with the time already spent: 3 s at first, at most 2 minutes."""
        if post.first_attempt_at is None:
            return VERIFY_FIRST_WAIT
        elapsed = (self._clock() - post.first_attempt_at).total_seconds()
        return max(VERIFY_FIRST_WAIT, min(VERIFY_MAX_WAIT, elapsed / 2))

    async def _broadcast(self, post: OutgoingPost, article_id: str) -> Published:
        """Send the verified article to followers, at most once.

        Zalo offers no look-up of a sent broadcast (docs/platforms/zalo-oa.md#broadcasts): when the
        previous attempt may have reached Zalo, sending again could message every follower twice, so
        the article (live and verified) is reported published with a warning instead.
        """
        if post.uncertain:
            return await self._broadcast_unknown(article_id, "the previous attempt's outcome")
        if self._ledger is not None:
            now = self._clock()
            verdict = await asyncio.to_thread(self._ledger.reserve, self.id, now, holder=article_id)
            if not verdict.ok and verdict.retry_at is not None:
                raise TransientError(
                    f"Zalo broadcast waits: {verdict.reason}",
                    retry_after=(verdict.retry_at - now).total_seconds(),
                    platform=PLATFORM,
                )
            if not verdict.ok:
                log.warning(
                    "%s: article %s published, broadcast skipped: %s",
                    self.id,
                    article_id,
                    verdict.reason,
                )
                return Published(remote_id=article_id, permalink=await self._link(article_id))
        body = {
            "recipient": {"target": {}},
            "message": {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "media",
                        "elements": [{"media_type": "article", "attachment_id": article_id}],
                    },
                }
            },
        }
        try:
            await self._api.call(
                "POST", "v2.0/oa/message", json=body, step="broadcast", publish=True
            )
        except TransientError as exc:
            if not exc.uncertain:
                raise  # nothing reached Zalo (refused connection, rate limit, night ban): retry
            return await self._broadcast_unknown(article_id, exc.message)
        except (ContentError, AuthError) as exc:
            if isinstance(exc, AuthError) and exc.code in {str(c) for c in TOKEN_CODES}:
                raise
            # The article is out; only the broadcast was refused (OA not verified, package,
            # caps). Report the article as published and say why followers got no message.
            log.warning(
                "%s: article %s published, broadcast refused: %s", self.id, article_id, exc.message
            )
        else:
            log.info("%s: article %s broadcast to followers", self.id, article_id)
        return Published(remote_id=article_id, permalink=await self._link(article_id))

    async def _broadcast_unknown(self, article_id: str, reason: str) -> Published:
        log.warning(
            "%s: article %s published; its broadcast may or may not have reached followers "
            "(%s) and is not sent again, so no follower gets it twice",
            self.id,
            article_id,
            reason,
        )
        return Published(
            remote_id=article_id,
            permalink=await self._link(article_id),
            warning=BROADCAST_UNKNOWN,
        )

    async def _link(self, article_id: str) -> str | None:
        try:
            data = await self._api.call(
                "GET", "v2.0/article/getdetail", params={"id": article_id}, step="getdetail"
            )
        except ChannelError as exc:
            log.warning("%s: article %s link not read: %s", self.id, article_id, exc.message)
            return None
        link = (data or {}).get("link")
        return str(link) if link else None

    async def remove(self, article_id: str) -> None:
        """Remove an article from the OA."""
        await self._api.call("POST", "v2.0/article/remove", json={"id": article_id}, step="remove")

    # ------------------------------------------------------------------ lookup

    async def find(self, post: OutgoingPost) -> Published | Processing | None:
        """The article with this post's title and text, or None when the OA surely lacks it.

        On an OA that broadcasts, a found article still has its broadcast to come (it is
        only sent after verify, which the lost attempt never reached): the answer is then
        the broadcast step for that article.

        Walks the OA's article list (getslice, newest first, 10 a page) back to the articles
        created before ``first_attempt_at`` minus :data:`FIND_MARGIN`, or to the end of the
        list (the whole list when ``first_attempt_at`` is None). A title match is confirmed by
        the fingerprint of the article's text blocks (getdetail). Raises TransientError when
        the walk cannot finish (a page cap, an inconsistent list): the caller must not read
        "could not finish looking" as "not there". An article still being processed is not
        listed by Zalo yet: a pending verify step is the way to follow that one.
        """
        title = nfc(article_title(post))
        wanted = body_fingerprint(paragraphs(post))
        since: float | None = None
        if post.first_attempt_at is not None:
            since = (post.first_attempt_at - FIND_MARGIN).timestamp() * 1000
        found = await self._articles.walk(title, wanted, since)
        if found is not None and self.config.broadcast:
            return Processing(step=BROADCAST_STEP, ref=found.remote_id, retry_after=0.0)
        return found

    # ------------------------------------------------------------------ delegated

    async def fetch_inbound(self, since: datetime) -> list[Inbound]:
        """Every message to and from citizens since ``since`` (:meth:`OaInbox.fetch_inbound`)."""
        return await self._inbox.fetch_inbound(since)

    async def citizen_profile(self, user_id: str) -> Mapping[str, Any]:
        """A citizen's profile (:meth:`OaInbox.citizen_profile`)."""
        return await self._inbox.citizen_profile(user_id)

    async def send_consultation(self, user_id: str, text: str) -> str:
        """Answer a citizen; returns its message id (:meth:`OaInbox.send_consultation`)."""
        return await self._inbox.send_consultation(user_id, text)

    async def fetch_metrics(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Views and shares per article (:meth:`ArticleList.fetch_metrics`)."""
        return await self._articles.fetch_metrics(remote_ids)

    async def followers(self) -> int | None:
        """The OA's follower count (:meth:`OaHealth.followers`)."""
        return await self._health.followers()

    async def health(self) -> Health:
        """``loa doctor``'s checks of the OA (:meth:`OaHealth.health`)."""
        return await self._health.health()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._api.aclose()
