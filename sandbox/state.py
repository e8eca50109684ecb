"""Everything the sandbox remembers: published objects, tokens, logs; saved to JSON on demand."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sandbox.citizens import InboxState

# Graph object ids look like the real 2024+ ones (18 digits); posts are "{page_id}_{post_id}".
FIRST_GRAPH_OBJECT_ID = 122_100_000_000_000_001
REQUEST_LOG_LIMIT = 20_000
# The saved file keeps only the tail of the request log: it is rewritten after every change.
SAVED_REQUEST_LOG_LIMIT = 500


@dataclass
class GraphPost:
    """A Page post (published, scheduled or unpublished)."""

    id: str
    page_id: str
    message: str | None
    link: str | None
    created_time: float
    updated_time: float
    is_published: bool
    scheduled_publish_time: int | None
    published_at: float | None
    status_type: str
    photo_ids: list[str] = field(default_factory=list)
    deleted: bool = False
    received_at: float = 0.0
    payload: dict[str, Any] = field(default_factory=dict)
    # Later edits (POST /{post-id}), each {"at": ..., "payload": {...}}.
    edits: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GraphPhoto:
    """A photo uploaded to a Page (published with its own post, or unpublished for later use)."""

    id: str
    page_id: str
    message: str | None
    published: bool
    post_id: str | None
    created_time: float
    image: dict[str, Any] = field(default_factory=dict)
    attached_to: str | None = None
    deleted: bool = False
    received_at: float = 0.0
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class ZaloGrant:
    """The current token pair of one OA; every refresh moves to the next generation."""

    oa_id: str
    generation: int
    refresh_token: str
    refresh_issued_at: float
    access_token: str | None = None
    access_expires_at: float = 0.0
    # Tokens that used to be valid: a reused refresh token or old access token is told apart
    # from garbage (same error code either way, but the log says which).
    retired: list[str] = field(default_factory=list)


@dataclass
class ZaloArticle:
    """A verified article on an OA."""

    id: str
    oa_id: str
    type: str
    title: str
    author: str
    description: str
    cover: dict[str, Any]
    body: list[Any]
    status: str
    comment: str
    link: str
    created_at: float
    updated_at: float
    published_at: float | None
    removed: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class ZaloJob:
    """An article create/update waiting for verify (Zalo processes articles asynchronously)."""

    token: str
    oa_id: str
    kind: str
    payload: dict[str, Any]
    created_at: float
    article_id: str | None = None
    polls: int = 0
    outcome: str | None = None  # None while processing, "ok" or "failed"
    problem: str | None = None


@dataclass
class ZaloUpload:
    """An image uploaded with /oa/upload/image."""

    attachment_id: str
    oa_id: str
    kind: str
    size: int
    filename: str | None
    received_at: float


@dataclass
class ZaloBroadcast:
    """A broadcast of an article to an OA's followers."""

    message_id: str
    oa_id: str
    article_id: str
    target: dict[str, Any]
    received_at: float
    reached: int
    skipped: int
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class RequestRecord:
    """One platform request as the sandbox saw it (no tokens, no bodies)."""

    seq: int
    at: float
    api: str
    method: str
    path: str
    channel: str | None
    status: int
    error: int | None = None
    fault: str | None = None


_ID_RE = re.compile(r"\d{6,}(_\d{6,})?|[0-9a-f]{24,}")


def endpoint_key(method: str, path: str) -> str:
    """``POST /graph/v21.0/{id}/feed``: a path with ids masked, for request counts."""
    return f"{method} {_ID_RE.sub('{id}', path)}"


@dataclass
class SandboxState:
    """All mutable sandbox data; ``to_dict``/``from_dict`` round-trip it through JSON."""

    next_graph_id: int = FIRST_GRAPH_OBJECT_ID
    next_zalo_serial: int = 1
    posts: dict[str, GraphPost] = field(default_factory=dict)
    photos: dict[str, GraphPhoto] = field(default_factory=dict)
    # Last message posted per page, for the 506 duplicate check.
    last_message: dict[str, str] = field(default_factory=dict)
    grants: dict[str, ZaloGrant] = field(default_factory=dict)
    auth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    articles: dict[str, ZaloArticle] = field(default_factory=dict)
    jobs: dict[str, ZaloJob] = field(default_factory=dict)
    uploads: dict[str, ZaloUpload] = field(default_factory=dict)
    broadcasts: list[ZaloBroadcast] = field(default_factory=list)
    # oa_id -> "YYYY-MM" -> articles created that month (office time).
    article_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # oa_id -> follower index (as text) -> [last day "YYYY-MM-DD", month "YYYY-MM", count in it]
    follower_caps: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    request_count: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    clock: dict[str, Any] = field(default_factory=dict)
    #: Citizens, their comments and messages, webhook subscriptions and deliveries.
    inbox: InboxState = field(default_factory=InboxState)

    def new_graph_id(self) -> str:
        """A fresh bare numeric Graph object id."""
        value = self.next_graph_id
        self.next_graph_id += 1
        return str(value)

    def new_zalo_serial(self) -> int:
        """A fresh serial for Zalo ids (hashed into opaque strings by the caller)."""
        value = self.next_zalo_serial
        self.next_zalo_serial += 1
        return value

    def broadcasts_per_article(self, oa_id: str | None = None) -> dict[str, int]:
        """How many broadcasts were sent of each article (of ``oa_id``, or of every OA).

        Zalo has no look-up of a sent broadcast, so this record is the only way to see one
        article broadcast twice (its followers messaged twice).
        """
        counts: Counter[str] = Counter(
            b.article_id for b in self.broadcasts if oa_id is None or b.oa_id == oa_id
        )
        return dict(counts)

    def log_request(self, record: RequestRecord) -> None:
        """Keep the record (bounded) and bump the per-key counters."""
        self.request_count += 1
        self.requests.append(record)
        if len(self.requests) > REQUEST_LOG_LIMIT:
            del self.requests[: len(self.requests) - REQUEST_LOG_LIMIT]
        keys = [
            "total",
            f"api:{record.api}",
            f"endpoint:{endpoint_key(record.method, record.path)}",
            f"status:{record.status}",
        ]
        if record.channel:
            keys.append(f"channel:{record.channel}")
        if record.fault:
            keys.append(f"fault:{record.fault}")
        for key in keys:
            self.counts[key] = self.counts.get(key, 0) + 1

    def request_summary(self) -> dict[str, Any]:
        """Counts grouped by kind: ``{"total": n, "api": {...}, "endpoint": {...}, ...}``."""
        grouped: dict[str, Counter[str]] = {}
        for key, value in self.counts.items():
            if key == "total":
                continue
            kind, _, name = key.partition(":")
            grouped.setdefault(kind, Counter())[name] += value
        summary: dict[str, Any] = {"total": self.counts.get("total", 0)}
        summary.update({kind: dict(counter) for kind, counter in grouped.items()})
        return summary

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxState:
        """Rebuild from :meth:`to_dict` output."""
        state = cls(
            **{
                f.name: data[f.name]
                for f in fields(cls)
                if f.name in data and f.name not in _TYPED_CONTAINERS and f.name != "inbox"
            }
        )
        if isinstance(data.get("inbox"), dict):
            state.inbox = InboxState.from_dict(data["inbox"])
        for name, kind in _TYPED_CONTAINERS.items():
            raw = data.get(name)
            if raw is None:
                continue
            if isinstance(raw, dict):
                setattr(state, name, {key: kind(**value) for key, value in raw.items()})
            else:
                setattr(state, name, [kind(**value) for value in raw])
        return state


_TYPED_CONTAINERS: dict[str, Any] = {
    "posts": GraphPost,
    "photos": GraphPhoto,
    "grants": ZaloGrant,
    "articles": ZaloArticle,
    "jobs": ZaloJob,
    "uploads": ZaloUpload,
    "broadcasts": ZaloBroadcast,
    "requests": RequestRecord,
}


def save_state(state: SandboxState, path: str | Path) -> None:
    """Write the state atomically (temp file + rename), so a crash never leaves half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(target.suffix + ".tmp")
    data = state.to_dict()
    data["requests"] = data["requests"][-SAVED_REQUEST_LOG_LIMIT:]
    temp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(temp, target)


def load_state(path: str | Path) -> SandboxState | None:
    """The state saved at ``path``, or None when there is none yet."""
    source = Path(path)
    if not source.exists():
        return None
    return SandboxState.from_dict(json.loads(source.read_text(encoding="utf-8")))
