"""A Facebook Page's figures: each post's reactions, comments, shares and insights, and the
Page's followers (docs/platforms/facebook-graph.md#reading-posts-and-insights).

Posts are read in batch requests, one operation per post
(docs/platforms/facebook-graph.md#batch-requests); a Graph that refuses an insight name or
does not expand ``insights`` as a field is handled here, so the rest of Loa only ever sees
:data:`~scheduler.channels.base.STANDARD_METRICS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scheduler.channels.base import STANDARD_METRICS
from scheduler.channels.facebook_errors import GraphErrorBody
from scheduler.channels.facebook_transport import BATCH_LIMIT, GraphTransport, log

#: Reactions, comments and shares of a post in one field list (shares is omitted at 0).
ENGAGEMENT_FIELDS = "reactions.summary(total_count).limit(0),comments.summary(true).limit(0),shares"

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

Figures = dict[str, float]


class PageMetrics:
    """Reads one Page's post figures through its :class:`GraphTransport`.

    Remembers across rounds what Graph taught it: the insight names it refuses (dropped) and
    whether it expands ``insights`` inside ``fields``.
    """

    def __init__(self, graph: GraphTransport, insight_metrics: Sequence[str]) -> None:
        self._graph = graph
        self._names = list(insight_metrics)
        #: Whether Graph answers ``insights.metric(...)`` inside ``fields`` (one op per post).
        self._insights_as_field = True

    async def fetch(self, remote_ids: Sequence[str]) -> Mapping[str, Mapping[str, float]]:
        """Reactions, comments, shares and the configured insights of each post.

        One batch operation per post (insights requested as a field expansion,
        ``insights.metric(...)``), 50 operations per request. A post Graph cannot read is
        left out. When Graph refuses an insight metric name, that post's insights are read
        again one name per operation and the refused name is dropped from then on (with one
        warning). A Graph that does not expand ``insights`` as a field gets two operations
        per post (fields, then the ``/insights`` edge).
        """
        results: dict[str, Figures] = {}
        pending = list(dict.fromkeys(remote_ids))
        while pending:
            per_post = 1 if self._insights_as_field or not self._names else 2
            chunk, pending = pending[: BATCH_LIMIT // per_post], pending[BATCH_LIMIT // per_post :]
            as_field = self._insights_as_field
            ops = [op for pid in chunk for op in self._ops(pid, self._names)]
            answers = await self._graph.batch(ops)
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
                    log.warning(
                        "%s: no figures for %s: %s", self._graph.channel_id, post_id, reason
                    )
                else:
                    figures: Figures = {}
                    for answer in group:
                        figures.update(parse_post_figures(answer))
                    results[post_id] = figures
            if retry:
                await self._one_by_one(retry, results)
        return results

    async def followers(self) -> int | None:
        """The Page's follower count (``GET /{page-id}?fields=followers_count``); None when
        Graph does not say (a Page whose count is hidden from this token)."""
        page_id = self._graph.config.page_id
        body = await self._graph.call("GET", page_id, params={"fields": "followers_count"})
        value = body.get("followers_count") if isinstance(body, dict) else None
        return int(value) if isinstance(value, int | float) else None

    def _ops(self, post_id: str, names: Sequence[str]) -> list[dict[str, str]]:
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
        """The batch operation reading one insight ``name`` of one post."""
        if self._insights_as_field:
            return {"method": "GET", "relative_url": f"{post_id}?fields=insights.metric({name})"}
        return {"method": "GET", "relative_url": f"{post_id}/insights?metric={name}"}

    async def _one_by_one(self, post_ids: Sequence[str], results: dict[str, Figures]) -> None:
        """Engagement plus each insight metric alone, to find the name Graph refuses."""
        names = list(self._names)
        ops = []
        for post_id in post_ids:
            ops.extend(self._ops(post_id, ()))
            ops.extend(self._insight_op(post_id, name) for name in names)
        answers: list[Any] = []
        for start in range(0, len(ops), BATCH_LIMIT):
            answers.extend(await self._graph.batch(ops[start : start + BATCH_LIMIT]))
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
            if name in self._names:
                self._names.remove(name)
                log.warning(
                    "%s: Facebook no longer accepts insight metric %r; it is skipped from now "
                    "on (update insight_metrics in channels.toml)",
                    self._graph.channel_id,
                    name,
                )


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


def _no_insights_field(answer: Any) -> bool:
    """Whether a batch answer is Graph refusing ``insights`` as a field expansion."""
    return (
        isinstance(answer, GraphErrorBody)
        and answer.code == 100
        and "nonexisting field (insights)" in answer.message
    )
