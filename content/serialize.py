"""The stable JSON view of posts (``--json`` output, exports, the TUI's data).

Field names and formats here are a public interface documented in the README: add
fields, never rename or remove them. Times are ISO 8601 in the office's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from content.models import Delivery, Post
from content.times import local_iso


def delivery_json(delivery: Delivery, tz: ZoneInfo) -> dict[str, Any]:
    """One delivery as JSON."""
    error = None
    if delivery.last_error_class:
        error = {
            "class": delivery.last_error_class,
            "code": delivery.last_error_code,
            "message": delivery.last_error_message,
        }
    return {
        "id": delivery.id,
        "channel": delivery.channel,
        "state": str(delivery.state),
        "attempts": delivery.attempts,
        "next_attempt_at": local_iso(delivery.next_attempt_at, tz),
        "last_error": error,
        "remote_id": delivery.remote_id,
        "permalink": delivery.permalink,
        "published_at": local_iso(delivery.published_at, tz),
        "text_variant": delivery.text_variant,
    }


def post_json(post: Post, deliveries: Sequence[Delivery], tz: ZoneInfo) -> dict[str, Any]:
    """One post with its deliveries as JSON."""
    return {
        "id": post.id,
        "state": str(post.state),
        "title": post.title,
        "text": post.text,
        "link": post.link,
        "images": list(post.image_ids),
        "infographic": post.infographic,
        "author": post.author,
        "approved_by": post.approved_by,
        "review_comment": post.review_comment,
        "campaign": post.campaign,
        "tags": list(post.tags),
        "scheduled_at": local_iso(post.scheduled_at, tz),
        "series_id": post.series_id,
        "created_at": local_iso(post.created_at, tz),
        "updated_at": local_iso(post.updated_at, tz),
        "deliveries": [delivery_json(d, tz) for d in deliveries],
    }
