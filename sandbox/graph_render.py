"""How Graph objects look on the wire: timestamps, post fields, insights values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sandbox.config import PageIdentity
from sandbox.engagement import REACTION_TYPES, Engagement, engagement
from sandbox.graph_errors import GraphError, invalid_parameter, nonexisting_field
from sandbox.graph_fields import FieldRequest
from sandbox.state import GraphPhoto, GraphPost

POST_FIELDS = {
    "id",
    "message",
    "created_time",
    "updated_time",
    "permalink_url",
    "is_published",
    "scheduled_publish_time",
    "status_type",
    "full_picture",
    "picture",
    "attachments",
    "shares",
    "reactions",
    "comments",
    "likes",
    "from",
    "is_hidden",
    "is_expired",
    "is_popular",
    "privacy",
    "story",
    "icon",
    "message_tags",
    "promotable_id",
    "timeline_visibility",
    "parent_id",
    "insights",
}
DEFAULT_POST_FIELDS = ("created_time", "message", "id")

# Metrics that answer on a post.  post_total_media_view_unique is said to need v23+ (Postiz),
# but Meta's v25 notes call it generally available: we do not tie metrics to versions.
VALID_POST_METRICS = {
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_clicks_by_type",
    "post_reactions_by_type_total",
    "post_reactions_like_total",
    "post_reactions_love_total",
    "post_reactions_wow_total",
    "post_reactions_haha_total",
    "post_reactions_sorry_total",
    "post_reactions_anger_total",
    "post_video_views",
}


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# Retired metrics with the date Meta removed them: asking for one after that date fails the whole
# call, before it they still answer (as the impressions family did until 2025-11-15).
RETIRED_POST_METRICS = {
    "post_engaged_users": _ts("2024-09-16T00:00:00+00:00"),
    "post_clicks_unique": _ts("2024-09-16T00:00:00+00:00"),
    "post_negative_feedback": _ts("2024-09-16T00:00:00+00:00"),
    "post_negative_feedback_unique": _ts("2024-09-16T00:00:00+00:00"),
    "post_impressions_by_story_type": _ts("2024-09-16T00:00:00+00:00"),
    "post_impressions": _ts("2025-11-15T00:00:00+00:00"),
    "post_impressions_paid": _ts("2025-11-15T00:00:00+00:00"),
    "post_impressions_organic": _ts("2025-11-15T00:00:00+00:00"),
    "post_impressions_fan": _ts("2025-11-15T00:00:00+00:00"),
    "post_impressions_viral": _ts("2025-11-15T00:00:00+00:00"),
    "post_impressions_nonviral": _ts("2025-11-15T00:00:00+00:00"),
    "post_impressions_unique": _ts("2026-06-15T00:00:00+00:00"),
    "post_impressions_paid_unique": _ts("2026-06-15T00:00:00+00:00"),
    "post_impressions_fan_unique": _ts("2026-06-15T00:00:00+00:00"),
    "post_impressions_organic_unique": _ts("2026-06-15T00:00:00+00:00"),
    "post_impressions_viral_unique": _ts("2026-06-15T00:00:00+00:00"),
    "post_impressions_nonviral_unique": _ts("2026-06-15T00:00:00+00:00"),
}

VALID_PAGE_METRICS = {
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_follows",
    "page_daily_follows",
    "page_daily_follows_unique",
    "page_views_total",
    "page_total_actions",
    "page_video_views",
}

_INSIGHT_KEY_FOR_TYPE = {
    "LIKE": "like",
    "LOVE": "love",
    "WOW": "wow",
    "HAHA": "haha",
    "SAD": "sorry",
    "ANGRY": "anger",
}


def graph_time(epoch: float) -> str:
    """``2025-11-20T09:00:00+0000``: Graph's timestamp format."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def cdn_url(photo_id: str) -> str:
    """A scontent-style URL for a stored photo (the sandbox keeps no pixels)."""
    return f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{photo_id}_n.jpg"


def permalink(post: GraphPost) -> str:
    """``https://www.facebook.com/{page_id}/posts/{post_id}``."""
    return f"https://www.facebook.com/{post.page_id}/posts/{post.id.split('_', 1)[1]}"


def post_engagement(seed: int, post: GraphPost, now: float) -> Engagement:
    """Figures of a post now (all zero until it is published)."""
    elapsed = now - post.published_at if post.is_published and post.published_at else 0.0
    return engagement(seed, post.id, elapsed)


def render_post(
    post: GraphPost,
    requests: list[FieldRequest],
    *,
    seed: int,
    now: float,
    page_name: str,
    photos: dict[str, GraphPhoto],
    extra_comments: int = 0,
) -> dict[str, Any]:
    """The post as ``GET /{post-id}?fields=...`` returns it (unknown fields raise code 100).

    ``extra_comments`` are the citizens' modelled comments, counted on top of the synthetic
    figure (their list is the ``/comments`` edge, sandbox.graph_inbox).
    """
    if not requests:
        requests = [FieldRequest(name) for name in DEFAULT_POST_FIELDS]
    figures = post_engagement(seed, post, now)
    if extra_comments:
        figures = replace(figures, comments=figures.comments + extra_comments)
    out: dict[str, Any] = {}
    for request in requests:
        if request.name not in POST_FIELDS:
            raise nonexisting_field(request.name, "PagePost")
        if request.name == "insights":
            value = _insights_field(post.id, request, figures, now)
        else:
            value = _post_field(post, request, figures, page_name, photos)
        if value is not None:
            out[request.key] = value
    return out


def _post_field(
    post: GraphPost,
    request: FieldRequest,
    figures: Engagement,
    page_name: str,
    photos: dict[str, GraphPhoto],
) -> Any:
    name = request.name
    if name == "id":
        return post.id
    if name == "message":
        return post.message or None
    if name == "created_time":
        return graph_time(post.created_time)
    if name == "updated_time":
        return graph_time(post.updated_time)
    if name == "permalink_url":
        return permalink(post)
    if name == "is_published":
        return post.is_published
    if name == "scheduled_publish_time":
        return post.scheduled_publish_time if not post.is_published else None
    if name == "status_type":
        return post.status_type
    if name in ("full_picture", "picture"):
        return cdn_url(post.photo_ids[0]) if post.photo_ids else None
    if name == "attachments":
        return _attachments(post, photos)
    if name == "shares":
        # Graph omits "shares" when nobody shared the post.
        return {"count": figures.shares} if figures.shares else None
    if name in ("reactions", "likes"):
        kind = request.modifiers.get("type", "").upper() if name == "reactions" else "LIKE"
        total = figures.reactions.get(kind, 0) if kind else figures.reactions_total
        return _connection(request, {"total_count": total, "viewer_reaction": "NONE"})
    if name == "comments":
        summary = {"order": "ranked", "total_count": figures.comments, "can_comment": True}
        return _connection(request, summary)
    if name == "from":
        return {"name": page_name, "id": post.page_id}
    if name in ("is_hidden", "is_expired", "is_popular"):
        return False
    if name == "privacy":
        return {
            "value": "EVERYONE",
            "description": "Public",
            "friends": "",
            "allow": "",
            "deny": "",
        }
    return None


def _insights_field(
    post_id: str, request: FieldRequest, figures: Engagement, now: float
) -> dict[str, Any]:
    """``insights.metric(a,b)`` as a field: the ``/insights`` edge's answer, embedded.

    The metric list is checked like the edge's: one invalid name fails the whole read.
    """
    names = parse_metric_names(request.modifiers.get("metric", ""))
    check_post_metrics(names, now)
    return {"data": [post_insight(post_id, name, figures) for name in names]}


def _connection(request: FieldRequest, summary: dict[str, Any]) -> dict[str, Any]:
    # Individual reactors/comments are not modelled: "data" is always empty, the counts are real.
    out: dict[str, Any] = {"data": []}
    if request.wants_summary():
        out["summary"] = summary
    return out


def _attachments(post: GraphPost, photos: dict[str, GraphPhoto]) -> dict[str, Any]:
    # Subfield selection inside attachments{...} is ignored: the whole attachment is returned.
    if post.photo_ids:
        items = [
            {
                "media": {"image": {"height": 720, "src": cdn_url(pid), "width": 960}},
                "target": {"id": pid, "url": f"https://www.facebook.com/photo.php?fbid={pid}"},
                "type": "photo",
                "media_type": "photo",
                "url": f"https://www.facebook.com/photo.php?fbid={pid}",
                "description": (photos[pid].message if pid in photos else None) or "",
            }
            for pid in post.photo_ids
        ]
        if len(items) == 1:
            return {"data": items}
        album = {
            "media_type": "album",
            "type": "album",
            "url": permalink(post),
            "media": items[0]["media"],
            "subattachments": {"data": items},
        }
        return {"data": [album]}
    if post.link:
        return {"data": [{"media_type": "link", "type": "share", "url": post.link}]}
    return {"data": []}


#: Fields a photo answers (``GET /{photo-id}?fields=``); others are code 100.
PHOTO_FIELDS = {
    "id",
    "created_time",
    "updated_time",
    "link",
    "name",
    "page_story_id",
    "picture",
    "images",
    "width",
    "height",
    "from",
    "alt_text",
    "can_delete",
}
#: What a photo read without ``fields`` shows (as before ``fields`` was honoured).
DEFAULT_PHOTO_FIELDS = ("id", "created_time", "link", "name", "page_story_id")


def render_photo(
    photo: GraphPhoto, requests: list[FieldRequest], page: PageIdentity
) -> dict[str, Any]:
    """The photo as ``GET /{photo-id}?fields=...`` returns it; unknown fields raise code 100.

    Without ``fields`` the default set is given (the caption is ``name``).
    """
    if not requests:
        requests = [FieldRequest(name) for name in DEFAULT_PHOTO_FIELDS]
    src = cdn_url(photo.id)
    values: dict[str, Any] = {
        "id": photo.id,
        "created_time": graph_time(photo.created_time),
        "updated_time": graph_time(photo.created_time),
        "link": f"https://www.facebook.com/photo.php?fbid={photo.id}",
        "name": photo.message or None,
        "page_story_id": photo.post_id if photo.post_id and photo.published else None,
        "picture": src,
        "images": [{"height": 720, "source": src, "width": 960}],
        "width": 960,
        "height": 720,
        "from": {"name": page.name, "id": page.page_id},
        "alt_text": "Có thể là hình ảnh",
        "can_delete": True,
    }
    out: dict[str, Any] = {}
    for request in requests:
        if request.name not in PHOTO_FIELDS:
            raise nonexisting_field(request.name, "Photo")
        if values.get(request.name) is not None:
            out[request.key] = values[request.name]
    return out


def parse_metric_names(raw: Any) -> list[str]:
    """``metric`` as a comma list (or a JSON-ish list) into names."""
    if isinstance(raw, list):
        names = [str(n) for n in raw]
    else:
        names = str(raw or "").strip("[]").replace('"', "").split(",")
    return [n.strip() for n in names if n.strip()]


def check_post_metrics(names: list[str], now: float) -> None:
    """Raise the errors Graph gives for an empty or invalid metric list."""
    if not names:
        raise GraphError(
            3001,
            "Invalid query",
            subcode=1504028,
            user_title="No Metric Specified",
            user_msg="No metric was specified to be fetched. Please specify one or more metrics "
            "to be fetched and try again.",
        )
    for name in names:
        retired_at = RETIRED_POST_METRICS.get(name)
        if name in VALID_POST_METRICS or (retired_at is not None and now < retired_at):
            continue
        raise invalid_parameter("The value must be a valid insights metric")


def post_insight(post_id: str, name: str, figures: Engagement) -> dict[str, Any]:
    """One element of ``/{post-id}/insights``' ``data``."""
    value: Any
    reactions = {
        _INSIGHT_KEY_FOR_TYPE[kind]: figures.reactions.get(kind, 0)
        for kind in REACTION_TYPES
        if kind in _INSIGHT_KEY_FOR_TYPE
    }
    if name in ("post_media_view", "post_impressions", "post_impressions_organic"):
        value = figures.views
    elif name in ("post_total_media_view_unique",) or name.endswith("_unique"):
        value = figures.unique_views
    elif name == "post_clicks":
        value = figures.clicks
    elif name == "post_clicks_by_type":
        value = _non_zero(
            {
                "other clicks": figures.clicks // 2,
                "photo view": figures.clicks // 3,
                "link clicks": figures.clicks - figures.clicks // 2 - figures.clicks // 3,
            }
        )
    elif name == "post_reactions_by_type_total":
        # Only non-zero keys, and no CARE key (Graph's breakdown predates it) [unverified].
        value = _non_zero(reactions)
    elif name.startswith("post_reactions_") and name.endswith("_total"):
        value = reactions.get(name.removeprefix("post_reactions_").removesuffix("_total"), 0)
    else:
        value = 0
    return {
        "name": name,
        "period": "lifetime",
        "values": [{"value": value}],
        "title": _title(name),
        "description": f"Lifetime: {_title(name)} (sandbox figures).",
        "id": f"{post_id}/insights/{name}/lifetime",
    }


def _non_zero(values: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in values.items() if v}


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def reaction_kinds() -> tuple[str, ...]:
    """Reaction types a ``type=`` parameter accepts."""
    return REACTION_TYPES
