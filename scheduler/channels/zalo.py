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

Calls carry the access token in an ``access_token`` header (not ``Authorization``). Tokens come
from the :class:`~scheduler.channels.credentials.TokenStore`; a -216/-220 answer triggers one
refresh and one retry, then :class:`AuthError`.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
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
    HealthCheck,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.channels.broadcast_caps import BroadcastLedger
from scheduler.channels.credentials import (
    AccessToken,
    TokenStore,
    bootstrap_token,
    oauth_client,
)
from scheduler.channels.http import get_logger, make_client, was_sent
from scheduler.channels.media_store import MediaStore
from scheduler.channels.zalo_article import (
    article_title,
    body_fingerprint,
    build_article,
    paragraphs,
)
from scheduler.channels.zalo_errors import (
    ARTICLE_PERMISSION,
    BEING_PROCESSED,
    NOT_AUTHORIZED,
    PLATFORM,
    TOKEN_CODES,
    http_error,
    to_channel_error,
)
from scheduler.channels.zalo_inbox import parse_row, reply_rejection
from scheduler.channels.zalo_oauth import ZaloOAuthClient
from scheduler.config import ZaloChannel

log = get_logger("channels.zalo")

Clock = Callable[[], datetime]

VERIFY_STEP = "zalo_verify"
BROADCAST_STEP = "zalo_broadcast"
#: First wait before verifying a new article (one production client polls every 3 s).
VERIFY_FIRST_WAIT = 3.0
#: Longest wait between verify polls.
VERIFY_MAX_WAIT = 120.0
#: getslice answers at most 10 items per call.
SLICE_LIMIT = 10
#: find() walks the article list back to the first attempt (or to its end); this many pages
#: (100,000 articles) is only a guard against a list that never ends. Stopping there is
#: "could not finish looking" (TransientError), never "not there".
FIND_MAX_PAGES = 10_000
#: A ``create_date`` below this (September 2001 in epoch ms) is not an epoch-ms value (e.g.
#: seconds): such an item cannot tell how far back the walk has come.
_MIN_EPOCH_MS = 1_000_000_000_000
#: The warning of a broadcast that may have reached followers and is not sent again.
BROADCAST_UNKNOWN = "broadcast outcome unknown; not re-sent"
#: fetch_metrics() reads at most this many getslice pages before asking getdetail per id.
METRICS_PAGES = 10
#: find() ignores articles created this long before the first attempt.
FIND_MARGIN = timedelta(minutes=10)
#: Calls per list or detail read: a read changes nothing, so one that failed for a passing
#: reason (a 5xx, a timeout) is asked again at once. A look-up of a busy OA reads many pages,
#: and one lost page would otherwise end the whole walk as "could not tell".
READ_TRIES = 3
#: Conversation reads answer at most 10 rows (count > 10 is -210,
#: docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
CHAT_PAGE = 10
#: A backfill reads at most this many pages of recent chats, and of each citizen's
#: conversation: a guard against a list that never ends, not a limit met in practice.
CHAT_MAX_PAGES = 500
#: What to do when the OA's grant no longer works (the refresh token is dead or revoked).
RECONSENT_ADVICE = (
    "an OA admin approves the app again (its permission link) and Loa gets the new refresh "
    "token through the secret named in channels.toml; then run `loa doctor`"
)


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
        self._tokens = tokens
        self._media = media
        self._branding = branding
        self._transport = transport
        self._clock = clock or (lambda: datetime.now(UTC))
        self._oauth: ZaloOAuthClient | None = None
        self._token: AccessToken | None = None
        self._http = make_client(
            channel=channel_id,
            base_url=config.base_url,
            timeout_seconds=config.timeout_seconds,
            max_connections=config.max_concurrency,
            transport=transport,
        )

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
        data = await self._call(
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
            data = await self._call(
                "POST", "v2.0/article/verify", json={"token": job}, step="verify"
            )
        except _Pending:
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
            await self._call("POST", "v2.0/oa/message", json=body, step="broadcast", publish=True)
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
            data = await self._call(
                "GET", "v2.0/article/getdetail", params={"id": article_id}, step="getdetail"
            )
        except ChannelError as exc:
            log.warning("%s: article %s link not read: %s", self.id, article_id, exc.message)
            return None
        link = (data or {}).get("link")
        return str(link) if link else None

    async def remove(self, article_id: str) -> None:
        """Remove an article from the OA."""
        await self._call("POST", "v2.0/article/remove", json={"id": article_id}, step="remove")

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
        found = await self._walk(title, wanted, since)
        if found is not None and self.config.broadcast:
            return Processing(step=BROADCAST_STEP, ref=found.remote_id, retry_after=0.0)
        return found

    async def _walk(self, title: str, wanted: str, since: float | None) -> Published | None:
        """Read getslice pages from the newest; ``since`` (epoch ms) or the end stops it."""
        offset = 0
        # The list is trusted to be newest first (so an older item ends the walk) only while
        # the dates seen never go up: Zalo does not state the order
        # (docs/platforms/zalo-oa.md#listing-and-detail).
        newest_first = True
        previous: float | None = None
        # Articles created during the walk push the list down, so a page can repeat items of
        # the one before: those are skipped (already compared, and not out of order).
        seen: set[str] = set()
        total: int | None = None
        for _ in range(FIND_MAX_PAGES):
            page = await self._slice(offset)
            if total is not None and page.total is not None and page.total < total:
                # An article was removed meanwhile: the offsets moved up and an item may have
                # been stepped over. Looking again later is cheap; a missed article is not.
                raise TransientError(
                    "Zalo's article list shrank during the look-up; it could not finish",
                    platform=PLATFORM,
                )
            total = page.total if page.total is not None else total
            fresh = [item for item in page.medias if str(item["id"]) not in seen]
            if page.medias and not fresh:
                # A full page of items already read: the list is not moving on (a faulty
                # answer repeating itself), so the walk cannot reach its end.
                raise TransientError(
                    f"Zalo repeated articles at offset {offset}; the look-up could not finish",
                    platform=PLATFORM,
                )
            reached_older = False
            for item in fresh:
                seen.add(str(item["id"]))
                created = created_ms(item)
                if created is not None:
                    if previous is not None and created > previous:
                        newest_first = False
                    previous = created
                    if since is not None and created < since:
                        # Made before the first attempt: not this post, and (newest first)
                        # nothing further down is either. The rest of the page is still read.
                        reached_older = True
                        continue
                if nfc(str(item.get("title", ""))) == title:
                    found = await self._confirm(item, wanted)
                    if found is not None:
                        return found
            if reached_older and newest_first:
                return None
            offset += page.size
            if page.total is not None:
                if offset >= page.total:
                    return None
                if page.size == 0:
                    raise TransientError(
                        f"Zalo listed no articles at offset {offset} of {page.total}; "
                        "the look-up could not finish",
                        platform=PLATFORM,
                    )
            elif page.size < SLICE_LIMIT:
                return None  # a short page without a total is the end of the list
        raise TransientError(
            f"Zalo look-up stopped after {FIND_MAX_PAGES} pages of articles without reaching "
            "the first attempt or the end of the list",
            platform=PLATFORM,
        )

    async def _confirm(self, item: Mapping[str, Any], wanted: str) -> Published | None:
        """The listed article ``item`` when its text blocks have the fingerprint ``wanted``."""
        detail = await self._read(
            "v2.0/article/getdetail", params={"id": str(item["id"])}, step="getdetail"
        )
        blocks = [
            str(b.get("content", ""))
            for b in (detail or {}).get("body") or []
            if isinstance(b, dict) and b.get("type") == "text"
        ]
        if body_fingerprint(blocks) != wanted:
            return None
        link = (detail or {}).get("link") or item.get("link")
        return Published(remote_id=str(item["id"]), permalink=link)

    async def _slice(self, offset: int) -> _Slice:
        data = await self._read(
            "v2.0/article/getslice",
            params={"offset": str(offset), "limit": str(SLICE_LIMIT), "type": "normal"},
            step="getslice",
        )
        raw = (data or {}).get("medias") or []
        raw = raw if isinstance(raw, list) else []
        medias = [m for m in raw if isinstance(m, dict) and m.get("id")]
        total = (data or {}).get("total")
        if isinstance(total, bool) or not isinstance(total, int | float):
            return _Slice(medias, len(raw), None)
        return _Slice(medias, len(raw), int(total))

    # ------------------------------------------------------------------ citizens

    async def fetch_inbound(self, since: datetime) -> list[Inbound]:
        """Every message to and from citizens since ``since``, by API (the backfill).

        ``listrecentchat`` (newest first, 10 a page, each row a message) names the citizens
        who wrote; each one's ``conversation`` is then read back to ``since``, so a citizen
        who sent several messages while the webhook was down loses none
        (docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
        """
        records: list[Inbound] = []
        citizens: list[str] = []
        async for row in self._chat_rows("v2.0/oa/listrecentchat", {}, since):
            record = parse_row(self.id, self.config.oa_id, row)
            if record is not None:
                records.append(record)
                if record.citizen_id not in citizens:
                    citizens.append(record.citizen_id or "")
        for citizen in citizens:
            if not citizen.isdigit():
                continue  # an anonymous chat-widget visitor has no conversation to read
            # user_id is a JSON number in this query
            # (docs/platforms/zalo-oa.md#event-envelope-and-ids).
            async for row in self._chat_rows(
                "v2.0/oa/conversation", {"user_id": int(citizen)}, since
            ):
                record = parse_row(self.id, self.config.oa_id, row)
                if record is not None:
                    records.append(record)
        return records

    async def citizen_profile(self, user_id: str) -> Mapping[str, Any]:
        """A citizen's profile (``user/detail``); ``is_sensitive`` true means the account is
        under 18 (docs/platforms/zalo-oa.md#reading-conversations-and-profiles)."""
        data = await self._read(
            "v3.0/oa/user/detail",
            params={"data": jsonlib.dumps({"user_id": user_id})},
            step="user_detail",
        )
        return data if isinstance(data, dict) else {}

    async def _chat_rows(
        self, path: str, query: Mapping[str, Any], since: datetime
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Rows of a newest-first conversation list, page by page, back to ``since``."""
        floor = since.timestamp() * 1000
        for page in range(CHAT_MAX_PAGES):
            data = {**query, "offset": page * CHAT_PAGE, "count": CHAT_PAGE}
            rows = await self._read(
                path, params={"data": jsonlib.dumps(data)}, step=path.rsplit("/", 1)[-1]
            )
            rows = [r for r in (rows if isinstance(rows, list) else []) if isinstance(r, dict)]
            older = False
            for row in rows:
                when = row.get("time")
                if isinstance(when, int | float | str) and float(when or 0) < floor:
                    older = True
                    continue
                yield row
            if older or len(rows) < CHAT_PAGE:
                return
        log.warning("%s: %s still had rows after %d pages", self.id, path, CHAT_MAX_PAGES)

    async def send_consultation(self, user_id: str, text: str) -> str:
        """Answer a citizen with a consultation ("tư vấn") message; returns its message id.

        Raises :class:`~scheduler.channels.inbound.ReplyRejected` when Zalo refuses it
        because of the citizen (no interaction in 7 days, blocked, inactive...).
        """
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        data = await self._call(
            "POST",
            "v3.0/oa/message/cs",
            json=body,
            step="reply",
            publish=True,
            refusal=reply_rejection,
        )
        message_id = str((data or {}).get("message_id") or "")
        if not message_id:
            raise TransientError(
                "Zalo accepted the reply without a message id", uncertain=True, platform=PLATFORM
            )
        return message_id

    # ------------------------------------------------------------------ metrics and health

    async def fetch_metrics(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Views and shares per article (getslice pages, then getdetail for the rest)."""
        wanted = set(remote_ids)
        results: dict[str, dict[str, float]] = {}
        for page in range(METRICS_PAGES):
            if not wanted - results.keys():
                break
            listed = await self._slice(page * SLICE_LIMIT)
            for item in listed.medias:
                if str(item.get("id")) in wanted:
                    results[str(item["id"])] = _figures(item)
            if (page + 1) * SLICE_LIMIT >= (listed.total or 0):
                break
        for article_id in sorted(wanted - results.keys()):
            try:
                detail = await self._call(
                    "GET", "v2.0/article/getdetail", params={"id": article_id}, step="getdetail"
                )
            except ContentError as exc:
                log.warning("%s: no figures for %s: %s", self.id, article_id, exc.message)
                continue
            results[article_id] = _figures(detail or {})
        return results

    async def followers(self) -> int | None:
        """The OA's follower count (getoa ``num_follower``)."""
        data = await self._call("GET", "v2.0/oa/getoa", step="getoa")
        value = (data or {}).get("num_follower")
        return int(value) if isinstance(value, int | float) else None

    async def health(self) -> Health:
        """Token refreshable and accepted, OA reachable, the article permission granted,
        follower count, media store set.

        Zalo has no token inspection call: the article permission group ("Quản lý bài viết",
        docs/platforms/zalo-oa.md#permission-groups) is probed with a one-item article list,
        which Zalo refuses with -223 "has not authorized this API" when the OA did not grant
        it.
        """
        checks = [
            HealthCheck(
                "media store",
                self._media is not None,
                self._media.public_base_url if self._media else "no [media] table in channels.toml",
            )
        ]
        try:
            data = await self._call("GET", "v2.0/oa/getoa", step="getoa")
        except AuthError as exc:
            checks.append(HealthCheck("token", False, exc.message, advice=RECONSENT_ADVICE))
            return Health(checks=checks)
        except ChannelError as exc:
            checks.append(HealthCheck("oa", False, exc.message))
            return Health(checks=checks)
        checks.append(HealthCheck("token", True, "access token accepted"))
        checks.append(await self._permission_check())
        name = (data or {}).get("name") or self.config.oa_id
        followers = (data or {}).get("num_follower")
        checks.append(HealthCheck("oa", True, f"{name}, {followers} followers"))
        return Health(checks=checks)

    async def _permission_check(self) -> HealthCheck:
        params = {"offset": "0", "limit": "1", "type": "normal"}
        try:
            await self._call("GET", "v2.0/article/getslice", params=params, step="getslice")
        except AuthError as exc:
            if exc.code == str(NOT_AUTHORIZED):
                return HealthCheck(
                    "permissions",
                    False,
                    f"the OA has not granted the app '{ARTICLE_PERMISSION}' (manage articles): "
                    f"Loa cannot publish ({exc.message})",
                    advice=f"an OA admin opens the app's permission link and grants "
                    f"'{ARTICLE_PERMISSION}' (consents again), then run `loa doctor` again",
                )
            return HealthCheck("token", False, exc.message, advice=RECONSENT_ADVICE)
        except ChannelError as exc:
            return HealthCheck("permissions", False, f"article list not read: {exc.message}")
        return HealthCheck("permissions", True, f"'{ARTICLE_PERMISSION}' granted")

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
        if self._oauth is not None:
            await self._oauth.aclose()

    # ------------------------------------------------------------------ transport

    async def _refresh(self, refresh_token: str) -> Any:
        if self._oauth is None:
            self._oauth = oauth_client(self.id, self.config, transport=self._transport)
        return await self._oauth.refresh(refresh_token)

    async def _access_token(self, stale: AccessToken | None = None) -> AccessToken:
        # Kept in memory while not due: if another process rotates the pair meanwhile, Zalo
        # answers -220 and the stale token is swapped for the stored one.
        token = self._token
        if stale is None and token is not None and not token.due(self._clock()):
            return token
        self._token = await self._tokens.access_token(
            self.id, self._refresh, bootstrap=bootstrap_token(self.config), stale=stale
        )
        return self._token

    async def _call(
        self,
        method: str,
        path: str,
        *,
        step: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        publish: bool = False,
        refusal: Callable[[int, Any], ChannelError | None] | None = None,
    ) -> Any:
        """One OpenAPI call; returns ``data``. A refused token is refreshed once and retried.

        ``refusal`` may turn an error code into the caller's own error first (a reply's
        refusals are about the citizen, not the channel)."""
        token = await self._access_token()
        code, message, data = await self._send(method, path, token, params, json, step, publish)
        if code in TOKEN_CODES:
            log.info("%s: Zalo refused the access token (%s); refreshing once", self.id, code)
            token = await self._access_token(stale=token)
            code, message, data = await self._send(method, path, token, params, json, step, publish)
        if code == 0:
            return data
        if code == BEING_PROCESSED and step == "verify":
            raise _Pending()
        refused = refusal(code, message) if refusal is not None else None
        if refused is not None:
            raise refused
        raise to_channel_error(code, message, now=self._clock(), step=step)

    async def _read(self, path: str, *, params: Mapping[str, str], step: str) -> Any:
        """A GET that changes nothing, asked again at once after a failure that names no wait
        (a rate limit's wait is Zalo's to set, and is raised to the caller)."""
        for _ in range(READ_TRIES - 1):
            try:
                return await self._call("GET", path, params=params, step=step)
            except TransientError as exc:
                if exc.retry_after is not None:
                    raise
                log.info("%s: %s failed (%s); asking again", self.id, step, exc.message)
        return await self._call("GET", path, params=params, step=step)

    async def _send(
        self,
        method: str,
        path: str,
        token: AccessToken,
        params: Mapping[str, str] | None,
        json: Any,
        step: str,
        publish: bool,
    ) -> tuple[int, Any, Any]:
        try:
            response = await self._http.request(
                method, path, params=params, json=json, headers={"access_token": token.value}
            )
        except httpx.TransportError as exc:
            uncertain = publish and was_sent(exc)
            raise TransientError(
                f"Zalo {step}: {type(exc).__name__}"
                + (" (it may have been accepted)" if uncertain else ""),
                uncertain=uncertain,
                platform=PLATFORM,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "error" not in body:
            raise http_error(response.status_code, step=step, uncertain=publish)
        try:
            code = int(body["error"])
        except (TypeError, ValueError):
            code = -1
        return code, body.get("message"), body.get("data")


class _Pending(Exception):
    """verify answered -214: the article is still being processed."""


@dataclass(frozen=True)
class _Slice:
    """One getslice page: its usable items, how many items it held, the list's total."""

    medias: list[dict[str, Any]]
    size: int
    total: int | None


def created_ms(item: Mapping[str, Any]) -> float | None:
    """An article item's ``create_date`` in epoch ms, or None when it has no usable one.

    The field is documented by one community source only
    (docs/platforms/zalo-oa.md#listing-and-detail), so a numeric string is read too. A value that
    cannot be epoch ms (missing, a bool, other text, seconds) is None: the item is still
    compared, but it never ends a look-up early.
    """
    value = item.get("create_date")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value < _MIN_EPOCH_MS:
        return None
    return float(value)


def _figures(item: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, name in (("total_view", "views"), ("total_share", "shares")):
        value = item.get(key)
        if isinstance(value, int | float):
            out[name] = float(value)
    return out
