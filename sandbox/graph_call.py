"""A Graph call and its answer, and the parameter parsing every endpoint shares."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.config import PageIdentity
from sandbox.graph_errors import invalid_parameter

VERSION_RE = re.compile(r"^v\d+\.\d+$")
PUBLISH_EDGES = ("feed", "photos")


@dataclass
class Upload:
    """A file sent in a multipart body."""

    filename: str | None
    content_type: str | None
    data: bytes

    def describe(self) -> dict[str, Any]:
        """What inspection shows of it (not the bytes)."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
        }


@dataclass
class GraphCall:
    """One Graph request (an HTTP request or one operation of a batch)."""

    method: str
    path: list[str]
    params: dict[str, Any]
    token: str | None
    #: The version the path named (None: an unversioned call).
    version: str | None = None
    files: dict[str, Upload] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    url_prefix: str = "https://graph.facebook.com"
    #: ``appsecret_proof`` sent with the call (checked against its token).
    proof: str | None = None
    #: The version that serves the call (see sandbox.graph_versions), set by GraphApi.serve.
    served_version: str = ""

    @property
    def display_path(self) -> str:
        """``/graph/v21.0/{id}/feed`` for the request log (the version as requested)."""
        return "/graph/" + "/".join([*([self.version] if self.version else []), *self.path])

    def is_publish(self) -> bool:
        """Feed or photo creation: the calls that content faults and accept-then-fail hit."""
        return self.method == "POST" and len(self.path) == 2 and self.path[1] in PUBLISH_EDGES


@dataclass
class Reply:
    """An answer, or a transport misbehaviour (``"hang"`` / ``"drop"``) to perform instead."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    transport: str | None = None
    hang_s: float = 30.0


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to."""

    kind: str  # "page", "user" or "app"
    token: str
    page: PageIdentity | None = None

    @property
    def bucket(self) -> str:
        """The usage bucket: the page for page tokens (BUC), else the app (platform)."""
        return self.page.page_id if self.page else "app"


def split_version(segments: list[str]) -> tuple[str | None, list[str]]:
    """Pull ``vNN.N`` off the front of a path (None for an unversioned call)."""
    if segments and VERSION_RE.match(segments[0]):
        return segments[0], segments[1:]
    return None, segments


def as_bool(value: Any, default: bool) -> bool:
    """Graph booleans arrive as JSON booleans or ``"true"``/``"false"``/``"1"``/``"0"``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1")


def as_epoch(value: Any) -> float | None:
    """UNIX seconds from ``since``/``until`` (a number or a time text), None when empty."""
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return parse_schedule_time(value)


def encode_cursor(key: str) -> str:
    """An opaque base64 cursor, as Graph's look."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key inside a cursor (garbage decodes to a key that matches nothing)."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def parse_schedule_time(raw: Any) -> int:
    """UNIX seconds from an integer, a numeric string or ISO 8601 with an offset."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return int(raw)
    text = str(raw).strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_parameter(
            "The specified scheduled_publish_time is invalid: expected a UNIX timestamp or "
            "an ISO 8601 time"
        ) from None
    if parsed.tzinfo is None:
        # strtotime reads a zone-less time as UTC on Meta's servers [unverified].
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def collect_attached_media(params: dict[str, Any]) -> list[Any]:
    """``attached_media`` as a JSON array, a list, or ``attached_media[0]=...`` form fields."""
    raw = params.get("attached_media")
    entries: list[Any] = []
    if isinstance(raw, list):
        entries = raw
    elif isinstance(raw, str) and raw.strip():
        try:
            loaded = json.loads(raw)
        except ValueError:
            raise invalid_parameter("param attached_media must be a JSON array") from None
        entries = loaded if isinstance(loaded, list) else [loaded]
    indexed = sorted(
        (int(m.group(1)), value)
        for key, value in params.items()
        if (m := re.fullmatch(r"attached_media\[(\d+)\]", key))
    )
    for _, value in indexed:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise invalid_parameter("param attached_media must hold JSON objects") from None
        entries.append(value)
    return entries
