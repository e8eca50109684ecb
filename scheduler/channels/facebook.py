"""Facebook Page client over the Graph API (reference: shared/reference/facebook-graph.md).

One :class:`FacebookPage` per configured Page. Publishing: text/link posts on ``/{page}/feed``,
one photo as a multipart ``source`` upload on ``/{page}/photos`` (the post id is ``post_id``),
several photos as unpublished uploads attached to a feed post. Metrics come from batch
requests, one operation per post. Every answer's usage headers pace the next call.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from content.errors import LoaError
from content.inbox import Inbound
from content.media import prepare_for_channel
from content.preview import facebook_message
from content.queue import fingerprint
from scheduler.channels.base import (
    STANDARD_METRICS,
    AuthError,
    ChannelError,
    ContentError,
    Health,
    HealthCheck,
    MediaBlob,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.channels.facebook_errors import (
    PLATFORM,
    THROTTLE_CODES,
    GraphErrorBody,
    http_error,
    parse_error,
    to_channel_error,
)
from scheduler.channels.facebook_inbox import (
    comment_record,
    graph_time,
    message_record,
    reply_rejection,
)
from scheduler.channels.graph_usage import USAGE_HEADERS, GraphPacer
from scheduler.channels.graph_versions import VersionNotice
from scheduler.channels.graph_versions import notice as version_notice
from scheduler.channels.http import (
    get_logger,
    make_client,
    redact,
    register_secret,
    strip_params,
    was_sent,
)
from scheduler.config import FacebookChannel

log = get_logger("channels.facebook")

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]

#: Graph's maximum operations per batch request.
BATCH_LIMIT = 50
#: find() looks this far before the first attempt: clocks differ and Graph's created_time is
#: the server's.
FIND_MARGIN = timedelta(minutes=10)
#: find() looks back this far when the first attempt time is unknown.
FIND_DEFAULT_WINDOW = timedelta(days=2)
#: find() follows ``paging.next`` to the end of the since-bounded list; this many pages of
#: 100 posts is only a guard against a list that never ends. Stopping there is "could not
#: finish looking" (TransientError), never "not there".
FIND_MAX_PAGES = 1_000
#: Reactions, comments and shares of a post in one field list (shares is omitted at 0).
ENGAGEMENT_FIELDS = "reactions.summary(total_count).limit(0),comments.summary(true).limit(0),shares"

#: The backfill reads the comments of the Page's posts published this long before what it
#: looks for: a citizen comments under an older post too.
COMMENT_POSTS_LOOKBACK = timedelta(days=14)
#: Pages of 100 a backfill list may read: a guard against a list that never ends.
LIST_MAX_PAGES = 200

#: What each permission a Page token needs is for (facebook-graph.md §1.3): publishing needs
#: the first three, the figures the last one.
REQUIRED_SCOPES = {
    "pages_manage_posts": "Loa cannot publish",
    "pages_read_engagement": "Loa cannot publish or read reactions, comments and shares",
    "pages_show_list": "Meta refuses to publish without it",
    "read_insights": "Loa cannot read views, reach and clicks",
}
#: A token that expires sooner than this is reported as a warning by ``loa doctor``.
EXPIRY_WARNING = timedelta(days=7)
RENEW_ADVICE = (
    "put a new Page token in the secret named in channels.toml (from a long-lived user token "
    "of a Page admin: GET /me/accounts), then run `loa doctor` again"
)
NETWORK_ADVICE = "check the channel's base_url and this server's network, then run `loa doctor`"

#: Insight metric names mapped to Loa's standard metric names. Retired names stay so that an
#: old config still lands in the right column until Graph refuses them.
INSIGHT_TO_STANDARD = {
    "post_media_view": "views",
    "post_impressions": "views",
    "post_total_media_view_unique": "reach",
    "post_impressions_unique": "reach",
    "post_clicks": "clicks",
    "post_reactions_by_type_total": "reactions",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class FacebookPage:
    """Publishes to one Facebook Page and reads its posts' figures."""

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
        self._sleep = sleep or asyncio.sleep
        self._pacer = GraphPacer(self._clock)
        self._token: str | None = None
        #: ``appsecret_proof`` for the token, when the app secret is configured ("" when not).
        self._proof: str | None = None
        self._metrics = list(config.insight_metrics)
        #: The Page token's expiry from the last ``debug_token`` answer (None: not read yet,
        #: or a token that never expires); the daemon's metrics show it when known.
        self.token_expires_at: datetime | None = None
        #: Whether Graph answers ``insights.metric(...)`` inside ``fields`` (one op per post).
        self._insights_as_field = True
        self._http = make_client(
            channel=channel_id,
            base_url=f"{config.base_url.rstrip('/')}/{config.graph_version}",
            timeout_seconds=config.timeout_seconds,
            max_connections=config.max_concurrency,
            transport=transport,
        )

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
        body = await self._call("POST", f"{self.config.page_id}/feed", data=form, publish=True)
        post_id = _required_id(body, "id")
        permalink = body.get("permalink_url") or await self._permalink(post_id)
        log.debug("%s: published post %s", self.id, post_id)  # the dispatcher logs it too
        return Published(remote_id=post_id, permalink=permalink)

    async def _publish_photo(self, message: str, image: MediaBlob) -> Published:
        form = {"published": "true"}
        if message:
            form["message"] = message
        body = await self._call(
            "POST",
            f"{self.config.page_id}/photos",
            data=form,
            files={"source": (image.filename, image.data, image.mime)},
            publish=True,
        )
        # Engagement and insights live on the post, not on the photo object.
        post_id = str(body.get("post_id") or _required_id(body, "id"))
        permalink = await self._permalink(post_id)
        log.debug("%s: published photo post %s", self.id, post_id)
        return Published(remote_id=post_id, permalink=permalink)

    async def _publish_album(self, message: str, images: Sequence[MediaBlob]) -> Published:
        media_ids = []
        for image in images:
            # Unpublished uploads are not on the Page: a failure here is never "uncertain".
            body = await self._call(
                "POST",
                f"{self.config.page_id}/photos",
                data={"published": "false"},
                files={"source": (image.filename, image.data, image.mime)},
            )
            media_ids.append(_required_id(body, "id", uncertain=False))
        return await self._publish_feed(message, media_ids=media_ids)

    async def _permalink(self, post_id: str) -> str | None:
        """The post's permalink; None if the read fails (the post exists either way)."""
        try:
            body = await self._call("GET", post_id, params={"fields": "permalink_url"})
        except ChannelError as exc:
            log.warning("%s: post %s published, permalink not read: %s", self.id, post_id, exc)
            return None
        return body.get("permalink_url")

    async def edit(self, remote_id: str, text: str) -> None:
        """Replace a published post's message (only posts made by this app can be edited)."""
        await self._call("POST", remote_id, data={"message": text})

    async def delete(self, remote_id: str) -> None:
        """Delete a post (or a scheduled post) from the Page."""
        await self._call("DELETE", remote_id)

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
            body = await self._call("GET", path, params=params)
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
        ``since``, by API (the backfill; inbox.md §B7, §B10)."""
        page = self.config.page_id
        records: list[Inbound] = []
        posts_since = since - COMMENT_POSTS_LOOKBACK
        posts = await self._list(
            f"{page}/published_posts",
            {"fields": "id,created_time", "since": str(int(posts_since.timestamp()))},
            until=None,
        )
        for post in posts:
            post_id = str(post.get("id") or "")
            if not post_id:
                continue
            comments = await self._list(
                f"{post_id}/comments",
                {
                    # stream: replies too; newest first, so the walk stops at ``since``.
                    "filter": "stream",
                    "order": "reverse_chronological",
                    "fields": "id,message,from,created_time,parent{id},attachment",
                },
                until=since,
            )
            for row in comments:
                record = comment_record(
                    self.id, page, {**row, "post_id": post_id}, source="backfill"
                )
                if record is not None:
                    records.append(record)
        conversations = await self._list(
            f"{page}/conversations",
            {"platform": "messenger", "fields": "id,updated_time"},
            until=since,
            time_field="updated_time",
        )
        for conversation in conversations:
            rows = await self._list(
                f"{conversation.get('id')}/messages",
                {"fields": "id,message,from,to,created_time,attachments"},
                until=since,
            )
            for row in rows:
                record = message_record(self.id, page, row)
                if record is not None:
                    records.append(record)
        return records

    async def _list(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        until: datetime | None,
        time_field: str = "created_time",
    ) -> list[dict[str, Any]]:
        """A Graph list, page after page; newest first, it stops at an item older than
        ``until``."""
        out: list[dict[str, Any]] = []
        query: Mapping[str, str] | None = {**params, "limit": "100"}
        for _ in range(LIST_MAX_PAGES):
            body = await self._call("GET", path, params=query)
            for item in body.get("data") or []:
                if not isinstance(item, dict):
                    continue
                when = graph_time(item.get(time_field))
                if until is not None and when is not None and when < until:
                    return out
                out.append(item)
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return out
            path, query = strip_params(next_url), None
        log.warning("%s: %s still had items after %d pages", self.id, path, LIST_MAX_PAGES)
        return out

    async def subscribed_apps(self) -> list[dict[str, Any]]:
        """The apps the Page is subscribed to, each with its ``subscribed_fields``
        (``GET /{page-id}/subscribed_apps``, inbox.md §B1): no entry, or no ``feed`` or
        ``messages``, and Meta delivers nothing to the inbox."""
        body = await self._call("GET", f"{self.config.page_id}/subscribed_apps")
        return [a for a in body.get("data") or [] if isinstance(a, dict)]

    async def reply_comment(self, comment_id: str, text: str) -> str:
        """Answer a comment publicly, as the Page; returns the new comment's id."""
        body = await self._call(
            "POST",
            f"{comment_id}/comments",
            data={"message": text},
            publish=True,
            refusal=_reply_refusal,
        )
        return _required_id(body, "id")

    async def private_reply(self, comment_id: str, text: str) -> str:
        """Answer a comment in Messenger (one private reply per comment, within 7 days:
        inbox.md §B8); returns the message id."""
        body = await self._call(
            "POST",
            f"{self.config.page_id}/messages",
            json={"recipient": {"comment_id": comment_id}, "message": {"text": text}},
            publish=True,
            refusal=_reply_refusal,
        )
        return _required_id(body, "message_id")

    async def send_message(self, psid: str, text: str, *, human_agent: bool = False) -> str:
        """Answer a Messenger message (Send API, inbox.md §B9): inside the 24 hours as a
        RESPONSE; with ``human_agent`` (the app has the reviewed feature) up to 7 days with the
        HUMAN_AGENT tag. Returns the message id."""
        body: dict[str, Any] = {
            "recipient": {"id": psid},
            "messaging_type": "RESPONSE",
            "message": {"text": text},
        }
        if human_agent:
            body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        answer = await self._call(
            "POST",
            f"{self.config.page_id}/messages",
            json=body,
            publish=True,
            refusal=_reply_refusal,
        )
        return _required_id(answer, "message_id")

    # ------------------------------------------------------------------ metrics

    async def fetch_metrics(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Reactions, comments, shares and the configured insights of each post.

        One batch operation per post (insights requested as a field expansion,
        ``insights.metric(...)``), 50 operations per request. A post Graph cannot read is
        left out. When Graph refuses an insight metric name, that post's insights are read
        again one name per operation and the refused name is dropped from then on (with one
        warning). A Graph that does not expand ``insights`` as a field gets two operations
        per post (fields, then the ``/insights`` edge).
        """
        results: dict[str, dict[str, float]] = {}
        pending = list(dict.fromkeys(remote_ids))
        while pending:
            per_post = 1 if self._insights_as_field or not self._metrics else 2
            chunk, pending = pending[: BATCH_LIMIT // per_post], pending[BATCH_LIMIT // per_post :]
            as_field = self._insights_as_field
            ops = [op for pid in chunk for op in self._metrics_ops(pid, self._metrics)]
            answers = await self._batch(ops)
            expanded = any(isinstance(a, dict) for a in answers)
            if as_field and not expanded and any(_no_insights_field(a) for a in answers):
                # This Graph does not expand insights as a field: split, and redo the chunk.
                # (When other posts did answer, the failing one is a video-like object
                # without insights: it is skipped below.)
                self._insights_as_field = False
                pending = chunk + pending
                continue
            retry: list[str] = []
            for index, post_id in enumerate(chunk):
                group = answers[index * per_post : (index + 1) * per_post]
                errors = [a for a in group if isinstance(a, GraphErrorBody)]
                if any(e.is_invalid_metric for e in errors):
                    retry.append(post_id)
                elif errors or any(a is None for a in group):
                    reason = errors[0].message if errors else "no answer"
                    log.warning("%s: no figures for %s: %s", self.id, post_id, reason)
                else:
                    figures: dict[str, float] = {}
                    for answer in group:
                        figures.update(parse_post_figures(answer))
                    results[post_id] = figures
            if retry:
                await self._metrics_one_by_one(retry, results)
        return results

    def _metrics_ops(self, post_id: str, names: Sequence[str]) -> list[dict[str, str]]:
        """The batch operations reading one post's engagement and the insights ``names``."""
        if self._insights_as_field:
            fields = ENGAGEMENT_FIELDS
            if names:
                fields += f",insights.metric({','.join(names)})"
            return [{"method": "GET", "relative_url": f"{post_id}?fields={fields}"}]
        ops = [{"method": "GET", "relative_url": f"{post_id}?fields={ENGAGEMENT_FIELDS}"}]
        if names:
            ops.append(
                {"method": "GET", "relative_url": f"{post_id}/insights?metric={','.join(names)}"}
            )
        return ops

    def _insight_op(self, post_id: str, name: str) -> dict[str, str]:
        if self._insights_as_field:
            return {"method": "GET", "relative_url": f"{post_id}?fields=insights.metric({name})"}
        return {"method": "GET", "relative_url": f"{post_id}/insights?metric={name}"}

    async def _metrics_one_by_one(
        self, post_ids: Sequence[str], results: dict[str, dict[str, float]]
    ) -> None:
        """Engagement plus each insight metric alone, to find the name Graph refuses."""
        names = list(self._metrics)
        ops = []
        for post_id in post_ids:
            ops.extend(self._metrics_ops(post_id, ()))
            ops.extend(self._insight_op(post_id, name) for name in names)
        answers: list[Any] = []
        for start in range(0, len(ops), BATCH_LIMIT):
            answers.extend(await self._batch(ops[start : start + BATCH_LIMIT]))
        per_post = len(names) + 1
        refused: set[str] = set()
        for index, post_id in enumerate(post_ids):
            group = answers[index * per_post : (index + 1) * per_post]
            base, metric_answers = group[0], group[1:]
            if not isinstance(base, dict):
                continue
            figures = parse_post_figures(base)
            for name, answer in zip(names, metric_answers, strict=True):
                if isinstance(answer, GraphErrorBody) and answer.is_invalid_metric:
                    refused.add(name)
                elif isinstance(answer, dict):
                    figures.update(parse_post_figures(answer))
            results[post_id] = figures
        for name in sorted(refused):
            if name in self._metrics:
                self._metrics.remove(name)
                log.warning(
                    "%s: Facebook no longer accepts insight metric %r; it is skipped from now "
                    "on (update insight_metrics in channels.toml)",
                    self.id,
                    name,
                )

    async def _batch(self, operations: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run up to 50 operations; each answer is its decoded body, a GraphErrorBody, or None.

        The token goes in the Authorization header, which Graph uses as every operation's
        fallback token.
        """
        body = await self._call("POST", "", data={"batch": json.dumps(list(operations))})
        if not isinstance(body, list) or len(body) != len(operations):
            raise TransientError("Facebook batch answer has the wrong shape", platform=PLATFORM)
        # Each operation counts as a call and carries its own usage headers: pace on the
        # latest figures reported inside the batch.
        usage = [_op_headers(e) for e in body if isinstance(e, dict)]
        usage = [h for h in usage if any(name in h for name in USAGE_HEADERS)]
        if usage:
            self._pacer.observe(usage[-1])
        answers: list[Any] = []
        for element in body:
            if not isinstance(element, dict):
                answers.append(None)  # the operation did not complete
                continue
            try:
                decoded = json.loads(element.get("body") or "null")
            except ValueError:
                decoded = None
            error = parse_error(decoded)
            if error is not None:
                if error.code in (190, 102) or (error.code in THROTTLE_CODES):
                    # The token died or Graph throttles: the whole run stops here.
                    raise to_channel_error(
                        error,
                        status=int(element.get("code") or 400),
                        publish=False,
                        retry_after=self._pacer.throttled()
                        if error.code in THROTTLE_CODES
                        else None,
                    )
                answers.append(error)
            else:
                answers.append(decoded)
        return answers

    async def followers(self) -> int | None:
        """The Page's follower count (``GET /{page-id}?fields=followers_count``); None when
        Graph does not say (a Page whose count is hidden from this token)."""
        body = await self._call("GET", self.config.page_id, params={"fields": "followers_count"})
        value = body.get("followers_count") if isinstance(body, dict) else None
        return int(value) if isinstance(value, int | float) else None

    # ------------------------------------------------------------------ health

    async def health(self) -> Health:
        """Graph version, the token (type, Page, scopes, expiry), the Page reachable, headroom.

        The token is read with ``debug_token`` (facebook-graph.md §1.4) so that a missing
        permission is named before a publish fails on it. Each failing check carries its own
        advice: a refused token is renewed, a missing scope is granted, an unreachable Graph is
        a network or base_url matter.
        """
        checks = [self._version_check()]
        try:
            info = await self._debug_token()
        except AuthError as exc:
            checks.append(HealthCheck("token", False, exc.message, advice=RENEW_ADVICE))
            return Health(checks=checks, headroom=self._pacer.headroom)
        except TransientError as exc:
            checks.append(HealthCheck("reach", False, exc.message, advice=NETWORK_ADVICE))
            return Health(checks=checks, headroom=self._pacer.headroom)
        except ChannelError as exc:
            # This Graph does not answer debug_token for this token: the Page read below still
            # tells whether the token works.
            checks.append(
                HealthCheck("token", True, f"token not inspected (debug_token: {exc.message})")
            )
        else:
            token_checks = self._token_checks(info)
            checks.extend(token_checks)
            if any(not c.ok for c in token_checks if c.name == "token"):
                return Health(checks=checks, headroom=self._pacer.headroom)
        try:
            body = await self._call(
                "GET", self.config.page_id, params={"fields": "id,name,followers_count"}
            )
            followers = body.get("followers_count")
            detail = f"{body.get('name', self.config.page_id)}"
            if followers is not None:
                detail += f", {followers} followers"
            checks.append(HealthCheck("page", True, detail))
        except AuthError as exc:
            checks.append(HealthCheck("token", False, exc.message, advice=RENEW_ADVICE))
        except ChannelError as exc:
            checks.append(HealthCheck("page", False, exc.message, advice=NETWORK_ADVICE))
        return Health(checks=checks, headroom=self._pacer.headroom)

    def version_notice(self) -> VersionNotice | None:
        """A notice when this Page's Graph version ends within 60 days (or has ended)."""
        return version_notice(self.config.graph_version, self._clock().date())

    def _version_check(self) -> HealthCheck:
        found = self.version_notice()
        if found is None:
            return HealthCheck("graph version", True, self.config.graph_version)
        return HealthCheck("graph version", True, found.text(), advice=found.advice(), warning=True)

    async def read_token_expiry(self) -> datetime | None:
        """Ask ``debug_token`` when the Page token expires (None: never); raises a
        :class:`ChannelError` when Graph cannot say. Also kept in :attr:`token_expires_at`."""
        self._note_expiry(await self._debug_token())
        return self.token_expires_at

    def _note_expiry(self, info: Mapping[str, Any]) -> None:
        try:
            expires_at = int(info.get("expires_at") or 0)
        except (TypeError, ValueError):
            expires_at = 0
        # 0: a Page token from a long-lived user token never expires.
        self.token_expires_at = datetime.fromtimestamp(expires_at, UTC) if expires_at else None

    async def _debug_token(self) -> dict[str, Any]:
        """``GET /debug_token`` for the channel's own token (the ``data`` object)."""
        self._auth_headers()
        assert self._token is not None
        body = await self._call("GET", "debug_token", params={"input_token": self._token})
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise TransientError("Facebook debug_token answer has no data", platform=PLATFORM)
        return data

    def _token_checks(self, info: Mapping[str, Any]) -> list[HealthCheck]:
        """What ``debug_token`` says about the channel's token, as health lines."""
        if not info.get("is_valid"):
            error = info.get("error") or {}
            reason = redact(str(error.get("message") or "Meta says it is not valid"))
            return [
                HealthCheck(
                    "token", False, f"the Page token is not valid: {reason}", advice=RENEW_ADVICE
                )
            ]
        kind = str(info.get("type") or "?").upper()
        if kind != "PAGE":
            return [
                HealthCheck(
                    "token",
                    False,
                    f"the token is a {kind} token, not a Page token: Loa cannot post as the Page",
                    advice="put the Page's own token in the secret named in channels.toml (the "
                    "access_token of this Page in GET /me/accounts, with a Page admin's "
                    "long-lived user token)",
                )
            ]
        profile = str(info.get("profile_id") or self.config.page_id)
        if profile != self.config.page_id:
            return [
                HealthCheck(
                    "token",
                    False,
                    f"the token is Page {profile}'s, not Page {self.config.page_id}'s",
                    advice="put this Page's token in the secret, or fix page_id in channels.toml",
                )
            ]
        checks = [self._expiry_check(info)]
        scopes = {str(s) for s in info.get("scopes") or []}
        missing = [name for name in REQUIRED_SCOPES if name not in scopes]
        if missing:
            names = ", ".join(missing)
            what = "; ".join(f"{name}: {REQUIRED_SCOPES[name]}" for name in missing)
            checks.append(
                HealthCheck(
                    "permissions",
                    False,
                    f"the Page token lacks {names} ({what})",
                    advice=f"have a Page admin connect the app again granting {names} "
                    f"(Meta's login dialog, scope={','.join(REQUIRED_SCOPES)}), then put the "
                    "new Page token in the secret named in channels.toml",
                )
            )
        else:
            checks.append(HealthCheck("permissions", True, ", ".join(REQUIRED_SCOPES)))
        return checks

    def _expiry_check(self, info: Mapping[str, Any]) -> HealthCheck:
        self._note_expiry(info)
        expires = self.token_expires_at
        if expires is None:
            # A Page token from a long-lived user token never expires (expires_at: 0).
            return HealthCheck("token", True, "Page token, never expires")
        left = expires - self._clock()
        when = expires.strftime("%Y-%m-%d %H:%M UTC")
        if left <= timedelta(0):
            return HealthCheck("token", False, f"Page token expired {when}", advice=RENEW_ADVICE)
        if left < EXPIRY_WARNING:
            return HealthCheck(
                "token",
                True,
                f"Page token expires {when}",
                advice="replace it with a Page token that never expires (from a long-lived "
                "user token), " + RENEW_ADVICE.split(", then")[0],
                warning=True,
            )
        return HealthCheck("token", True, f"Page token, expires {when}")

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    def _auth_headers(self) -> dict[str, str]:
        if self._token is None:
            try:
                token = self.config.token.resolve()
            except LoaError as exc:
                raise AuthError(f"Facebook token unavailable: {exc}", platform=PLATFORM) from None
            register_secret(token)
            self._token = token
        return {"Authorization": f"Bearer {self._token}"}

    def _appsecret_proof(self) -> str | None:
        """``appsecret_proof`` for the token, or None when no app secret is configured.

        Apps with "Require App Secret" on refuse every call without it (facebook-graph.md §0).
        """
        if self._proof is None:
            proof = ""
            if self.config.app_secret is not None and self._token is not None:
                try:
                    secret = self.config.app_secret.resolve()
                except LoaError as exc:
                    raise AuthError(
                        f"Facebook app secret unavailable: {exc}", platform=PLATFORM
                    ) from None
                register_secret(secret)
                proof = appsecret_proof(self._token, secret)
                register_secret(proof)
            self._proof = proof
        return self._proof or None

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        json: Any = None,
        publish: bool = False,
        refusal: Callable[[GraphErrorBody], ChannelError | None] | None = None,
    ) -> Any:
        """One Graph call, paced by the usage headers; returns the decoded JSON body.

        ``publish`` marks the call that creates a post on the Page: if its outcome is unknown
        the error says so (``uncertain=True``). ``refusal`` may turn a Graph error into the
        caller's own first (a reply's refusals are about the citizen, not the channel).
        """
        wait = self._pacer.blocked_for()
        if wait > 0:
            raise TransientError(
                f"Facebook rate limit: calls paused for {wait:.0f} s",
                retry_after=wait,
                channel_wide=True,
                platform=PLATFORM,
            )
        delay = self._pacer.delay()
        if delay > 0:
            log.info("%s: Graph usage at %d%%, pausing %.1f s", self.id, self._pacer.percent, delay)
            await self._sleep(delay)
        headers = self._auth_headers()
        proof = self._appsecret_proof()
        if proof:
            # In the query string of every call (batches included): Graph reads it there for
            # GET and POST alike. Log lines show paths only, and the value is masked anyway.
            params = {**(params or {}), "appsecret_proof": proof}
        try:
            response = await self._http.request(
                method, path, params=params, data=data, files=files, json=json, headers=headers
            )
        except httpx.TransportError as exc:
            uncertain = publish and was_sent(exc)
            raise TransientError(
                f"Facebook {method} /{path.split('?')[0]}: {type(exc).__name__}"
                + (" (the post may have been created)" if uncertain else ""),
                uncertain=uncertain,
                platform=PLATFORM,
            ) from None
        self._pacer.observe(response.headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        error = parse_error(body)
        if error is None and response.is_success and body is not None:
            return body
        if error is None:
            raise http_error(response.status_code, publish=publish)
        refused = refusal(error) if refusal is not None else None
        if refused is not None:
            raise refused
        retry_after = None
        if error.code in THROTTLE_CODES:
            retry_after = self._pacer.throttled(response.headers.get("retry-after"))
        raise to_channel_error(
            error, status=response.status_code, publish=publish, retry_after=retry_after
        )


def appsecret_proof(token: str, app_secret: str) -> str:
    """Hex HMAC-SHA256 of ``token`` keyed by ``app_secret`` (facebook-graph.md §0)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def compose_message(post: OutgoingPost) -> str:
    """The message Facebook gets (content.preview.facebook_message, the composer's preview
    rule): the text, plus the link at its end for a photo post, which has no link card."""
    return facebook_message(post.text, post.link, bool(post.images))


def parse_post_figures(body: Mapping[str, Any]) -> dict[str, float]:
    """Standard metric names from a post read with engagement fields and insights."""
    out: dict[str, float] = {}
    reactions = (body.get("reactions") or {}).get("summary") or {}
    if "total_count" in reactions:
        out["reactions"] = float(reactions["total_count"])
    comments = (body.get("comments") or {}).get("summary") or {}
    if "total_count" in comments:
        out["comments"] = float(comments["total_count"])
    if "reactions" in body or "comments" in body:
        # Graph omits "shares" when nobody shared the post.
        out["shares"] = float((body.get("shares") or {}).get("count", 0))
    insights = body.get("insights")
    entries = insights.get("data") if isinstance(insights, dict) else body.get("data")
    for entry in entries or []:
        standard = INSIGHT_TO_STANDARD.get(str(entry.get("name")))
        values = entry.get("values") or []
        if standard is None or not values:
            continue
        value = values[-1].get("value")
        if isinstance(value, dict):
            value = sum(v for v in value.values() if isinstance(v, int | float))
        if isinstance(value, int | float) and standard not in out:
            out[standard] = float(value)
    return {k: v for k, v in out.items() if k in STANDARD_METRICS}


def _op_headers(element: Mapping[str, Any]) -> dict[str, str]:
    headers = element.get("headers") or []
    return {
        str(h.get("name", "")).lower(): str(h.get("value", ""))
        for h in headers
        if isinstance(h, dict)
    }


def _no_insights_field(answer: Any) -> bool:
    return (
        isinstance(answer, GraphErrorBody)
        and answer.code == 100
        and "nonexisting field (insights)" in answer.message
    )


async def _prepare(blob: MediaBlob) -> MediaBlob:
    """Strip metadata and fit Facebook's limits (Pillow work runs off the event loop)."""
    try:
        data, mime = await asyncio.to_thread(prepare_for_channel, blob.data, "facebook")
    except LoaError as exc:
        raise ContentError(f"image {blob.filename}: {exc}", platform=PLATFORM) from None
    return MediaBlob(filename=blob.filename, mime=mime, data=data)


def _reply_refusal(error: GraphErrorBody) -> ChannelError | None:
    return reply_rejection(error.code, error.subcode, error.message)


def _required_id(body: Any, key: str, *, uncertain: bool = True) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if not value:
        raise TransientError(
            f"Facebook answered without {key!r}", uncertain=uncertain, platform=PLATFORM
        )
    return str(value)
