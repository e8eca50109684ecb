"""Facebook Page client over the Graph API (docs/platforms/facebook-graph.md).

One :class:`FacebookPage` per configured Page. Publishing: text/link posts on ``/{page}/feed``,
one photo as a multipart ``source`` upload on ``/{page}/photos`` (the post id is ``post_id``),
several photos as unpublished uploads attached to a feed post
(docs/platforms/facebook-graph.md#publishing). The rest is delegated, each to its module:
the Graph calls themselves (authentication, pacing, batches, lists) to
:mod:`~scheduler.channels.facebook_transport`, the figures to
:mod:`~scheduler.channels.facebook_metrics`, ``loa doctor``'s checks to
:mod:`~scheduler.channels.facebook_health`, the citizens' comments and messages to
:mod:`~scheduler.channels.facebook_inbox`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from content.errors import LoaError
from content.inbox import Inbound
from content.media import prepare_for_channel
from content.preview import facebook_message
from content.queue import fingerprint
from scheduler.channels.base import (
    ChannelError,
    ContentError,
    Health,
    MediaBlob,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.channels.facebook_errors import PLATFORM
from scheduler.channels.facebook_health import PageHealth
from scheduler.channels.facebook_inbox import PageInbox
from scheduler.channels.facebook_metrics import PageMetrics, parse_post_figures
from scheduler.channels.facebook_transport import (
    Clock,
    GraphTransport,
    Sleep,
    appsecret_proof,
    log,
    required_id,
)
from scheduler.channels.graph_versions import VersionNotice
from scheduler.channels.http import strip_params
from scheduler.config import FacebookChannel

#: Names others import from here (the tests, the post preview).
__all__ = ["FacebookPage", "appsecret_proof", "compose_message", "parse_post_figures"]

#: find() looks this far before the first attempt: clocks differ and Graph's created_time is
#: the server's.
FIND_MARGIN = timedelta(minutes=10)
#: find() looks back this far when the first attempt time is unknown.
FIND_DEFAULT_WINDOW = timedelta(days=2)
#: find() follows ``paging.next`` to the end of the since-bounded list; this many pages of
#: 100 posts is only a guard against a list that never ends. Stopping there is "could not
#: finish looking" (TransientError), never "not there".
FIND_MAX_PAGES = 1_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FacebookPage:
    """Publishes to one Facebook Page, reads its posts' figures and its citizens' comments
    and messages, and answers them."""

    kind = "facebook"

    def __init__(
        self,
        channel_id: str,
        config: FacebookChannel,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.id = channel_id
        self.config = config
        self._clock = clock or _utcnow
        self._graph = GraphTransport(
            channel_id, config, clock=self._clock, sleep=sleep, transport=transport
        )
        self._metrics = PageMetrics(self._graph, config.insight_metrics)
        self._health = PageHealth(self._graph, self._clock)
        self._inbox = PageInbox(self._graph)

    def __repr__(self) -> str:
        return f"FacebookPage(id={self.id!r}, page_id={self.config.page_id!r})"

    # ------------------------------------------------------------------ publishing

    async def publish(self, post: OutgoingPost) -> Published | Processing:
        """Publish ``post`` on the Page; raises a :class:`ChannelError` subclass on failure.

        A :class:`TransientError` with ``uncertain=True`` means the post may exist: call
        :meth:`find` before trying again.
        """
        message = compose_message(post)
        if not post.images:
            return await self._publish_feed(message, link=post.link)
        images = [await _prepare(blob) for blob in post.images]
        if len(images) == 1:
            return await self._publish_photo(message, images[0])
        return await self._publish_album(message, images)

    async def _publish_feed(
        self, message: str, *, link: str | None = None, media_ids: Sequence[str] = ()
    ) -> Published:
        form: dict[str, str] = {"fields": "id,permalink_url"}
        if message:
            form["message"] = message
        if link:
            form["link"] = link
        for index, media_id in enumerate(media_ids):
            form[f"attached_media[{index}]"] = json.dumps({"media_fbid": media_id})
        body = await self._graph.call(
            "POST", f"{self.config.page_id}/feed", data=form, publish=True
        )
        post_id = required_id(body, "id")
        permalink = body.get("permalink_url") or await self._permalink(post_id)
        log.debug("%s: published post %s", self.id, post_id)  # the dispatcher logs it too
        return Published(remote_id=post_id, permalink=permalink)

    async def _publish_photo(self, message: str, image: MediaBlob) -> Published:
        form = {"published": "true"}
        if message:
            form["message"] = message
        body = await self._graph.call(
            "POST",
            f"{self.config.page_id}/photos",
            data=form,
            files={"source": (image.filename, image.data, image.mime)},
            publish=True,
        )
        # Engagement and insights live on the post, not on the photo object.
        post_id = str(body.get("post_id") or required_id(body, "id"))
        permalink = await self._permalink(post_id)
        log.debug("%s: published photo post %s", self.id, post_id)
        return Published(remote_id=post_id, permalink=permalink)

    async def _publish_album(self, message: str, images: Sequence[MediaBlob]) -> Published:
        media_ids = []
        for image in images:
            # Unpublished uploads are not on the Page: a failure here is never "uncertain".
            body = await self._graph.call(
                "POST",
                f"{self.config.page_id}/photos",
                data={"published": "false"},
                files={"source": (image.filename, image.data, image.mime)},
            )
            media_ids.append(required_id(body, "id", uncertain=False))
        return await self._publish_feed(message, media_ids=media_ids)

    async def _permalink(self, post_id: str) -> str | None:
        """The post's permalink; None if the read fails (the post exists either way)."""
        try:
            body = await self._graph.call("GET", post_id, params={"fields": "permalink_url"})
        except ChannelError as exc:
            log.warning("%s: post %s published, permalink not read: %s", self.id, post_id, exc)
            return None
        return body.get("permalink_url")

    async def edit(self, remote_id: str, text: str) -> None:
        """Replace a published post's message (only posts made by this app can be edited)."""
        await self._graph.call("POST", remote_id, data={"message": text})

    async def delete(self, remote_id: str) -> None:
        """Delete a post (or a scheduled post) from the Page."""
        await self._graph.call("DELETE", remote_id)

    # ------------------------------------------------------------------ lookup

    async def find(self, post: OutgoingPost) -> Published | None:
        """The Page post matching ``post``'s content fingerprint, published since its first
        attempt (minus a margin), or None when the Page surely lacks it.

        Used before re-sending an uncertain publish. Every page of ``published_posts`` since
        then is read (``paging.next`` to its end); a walk that cannot finish raises
        TransientError, so "could not finish looking" is never taken for "not there".
        """
        wanted = {fingerprint(compose_message(post))}
        if post.fingerprint:
            wanted.add(post.fingerprint)
        start = (post.first_attempt_at or self._clock() - FIND_DEFAULT_WINDOW) - FIND_MARGIN
        params: dict[str, Any] | None = {
            "fields": "id,message,created_time,permalink_url",
            "since": str(int(start.timestamp())),
            "limit": "100",
        }
        path = f"{self.config.page_id}/published_posts"
        followed: set[str] = set()
        for _ in range(FIND_MAX_PAGES):
            body = await self._graph.call("GET", path, params=params)
            for item in body.get("data") or []:
                message = item.get("message") if isinstance(item, dict) else None
                if message and fingerprint(message) in wanted:
                    return Published(remote_id=str(item["id"]), permalink=item.get("permalink_url"))
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return None
            # paging.next may carry the token as a query parameter: drop it, the header has it.
            path, params = strip_params(next_url), None
            if path in followed:
                # The same page again: the list would never end.
                break
            followed.add(path)
        raise TransientError(
            "Facebook look-up stopped before the end of the Page's posts since the first "
            "attempt; it could not finish",
            platform=PLATFORM,
        )

    # ------------------------------------------------------------------ citizens

    async def fetch_inbound(self, since: datetime) -> list[Inbound]:
        """Every comment under the Page's recent posts and every Messenger message since
        ``since``, by API (the backfill)."""
        return await self._inbox.fetch_inbound(since)

    async def subscribed_apps(self) -> list[dict[str, Any]]:
        """The apps the Page is subscribed to, each with its ``subscribed_fields``."""
        return await self._inbox.subscribed_apps()

    async def reply_comment(self, comment_id: str, text: str) -> str:
        """Answer a comment publicly, as the Page; returns the new comment's id."""
        return await self._inbox.reply_comment(comment_id, text)

    async def private_reply(self, comment_id: str, text: str) -> str:
        """Answer a comment in Messenger (once, within 7 days); returns the message id."""
        return await self._inbox.private_reply(comment_id, text)

    async def send_message(self, psid: str, text: str, *, human_agent: bool = False) -> str:
        """Answer a Messenger message (with ``human_agent``: up to 7 days, HUMAN_AGENT tag);
        returns the message id."""
        return await self._inbox.send_message(psid, text, human_agent=human_agent)

    # ------------------------------------------------------------------ figures

    async def fetch_metrics(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Reactions, comments, shares and the configured insights of each post (a post
        Graph cannot read is left out)."""
        return await self._metrics.fetch(remote_ids)

    async def followers(self) -> int | None:
        """The Page's follower count; None when Graph does not say."""
        return await self._metrics.followers()

    # ------------------------------------------------------------------ health

    async def health(self) -> Health:
        """Graph version, the token (type, Page, scopes, expiry), the Page reachable, headroom."""
        return await self._health.check()

    def version_notice(self) -> VersionNotice | None:
        """A notice when this Page's Graph version ends within 60 days (or has ended)."""
        return self._health.version_notice()

    async def read_token_expiry(self) -> datetime | None:
        """Ask ``debug_token`` when the Page token expires (None: never); raises a
        :class:`ChannelError` when Graph cannot say. Also kept in :attr:`token_expires_at`."""
        return await self._health.read_token_expiry()

    @property
    def token_expires_at(self) -> datetime | None:
        """The Page token's expiry from the last ``debug_token`` answer (None: not read yet,
        or a token that never expires); the daemon's metrics show it when known."""
        return self._health.token_expires_at

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._graph.aclose()


def compose_message(post: OutgoingPost) -> str:
    """The message Facebook gets (content.preview.facebook_message, the composer's preview
    rule): the text, plus the link at its end for a photo post, which has no link card."""
    return facebook_message(post.text, post.link, bool(post.images))


async def _prepare(blob: MediaBlob) -> MediaBlob:
    """Strip metadata and fit Facebook's limits (Pillow work runs off the event loop)."""
    try:
        data, mime = await asyncio.to_thread(prepare_for_channel, blob.data, "facebook")
    except LoaError as exc:
        raise ContentError(f"image {blob.filename}: {exc}", platform=PLATFORM) from None
    return MediaBlob(filename=blob.filename, mime=mime, data=data)
