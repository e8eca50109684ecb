"""A month of posts at once: CSV import (all or nothing) and CSV/JSON export.

Import columns (a header row is required; order free):

    at         YYYY-MM-DD HH:MM in office time, or ISO 8601; empty = no time yet
    channels   channel ids or group names, separated by spaces, commas or semicolons
    text       the post text (required)
    title      required for Zalo OA channels
    link, campaign
    tags       separated by commas or semicolons
    images     image files, separated by semicolons, relative to the CSV file

The export columns ``id``, ``state``, ``author`` and ``deliveries`` are accepted and
ignored, so an export can be edited and imported again as new posts.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from content.errors import LoaError, ValidationError
from content.models import Delivery, Post
from content.queue import ImageInput, PostInput, Queue
from content.serialize import post_json
from content.times import local_text, parse_when

IMPORT_COLUMNS = ("at", "channels", "text", "title", "link", "campaign", "tags", "images")
IGNORED_COLUMNS = ("id", "state", "author", "deliveries")
EXPORT_COLUMNS = ("id", "state", "at", "channels", "title", "text", "link", "campaign", "tags")
#: Validation errors name the field; this maps it back to the column the user wrote.
_FIELD_TO_COLUMN = {"channel": "channels", "image": "images", "variant": "channels"}


class ImportRefused(LoaError):
    """At least one row is wrong; nothing was imported. ``details`` lists every problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        count = "1 error" if len(problems) == 1 else f"{len(problems)} errors"
        super().__init__(f"{path}: nothing imported ({count})")
        self.details = problems


def read_csv(path: Path, queue: Queue) -> list[PostInput]:
    """Parse and validate every row of ``path``; raises ImportRefused listing all bad rows."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoaError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets often write a BOM
    except UnicodeDecodeError as exc:
        raise LoaError(
            f"{path}: byte {exc.start} is not UTF-8; save the sheet as CSV UTF-8"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if not header:
        raise LoaError(f"{path}: empty file; expected a header row ({', '.join(IMPORT_COLUMNS)})")
    unknown = [h for h in header if h not in IMPORT_COLUMNS and h not in IGNORED_COLUMNS]
    if unknown:
        raise LoaError(
            f"{path}: row 1: unknown column {unknown[0]!r}; expected {', '.join(IMPORT_COLUMNS)}"
        )
    for required in ("channels", "text"):
        if required not in header:
            raise LoaError(f"{path}: row 1: missing column {required!r}")
    tz = queue.directory.office.timezone
    now = queue.clock()
    requests: list[PostInput] = []
    problems: list[str] = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            problems.append(f"{path}: row {number}: more cells than columns")
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue  # blank lines in spreadsheets
        try:
            request = _row_to_request(values, path, tz)
            queue.validate(request, now=now)
        except ValidationError as exc:
            column = _FIELD_TO_COLUMN.get(exc.field or "", exc.field or "?")
            problems.append(f"{path}: row {number}, column {column!r}: {exc.message}")
            continue
        requests.append(request)
    if problems:
        raise ImportRefused(path, problems)
    if not requests:
        raise LoaError(f"{path}: no rows to import")
    return requests


def _row_to_request(values: dict[str, str], path: Path, tz: ZoneInfo) -> PostInput:
    at = parse_when(values["at"], tz) if values.get("at") else None
    images = []
    for name in _split(values.get("images", ""), ";"):
        file = (path.parent / name).resolve()
        try:
            images.append(ImageInput(filename=name, data=file.read_bytes()))
        except OSError as exc:
            raise ValidationError(f"{name}: cannot read ({exc.strerror})", field="image") from None
    return PostInput(
        text=values.get("text", ""),
        channels=_split(values.get("channels", ""), r"[\s,;]+"),
        title=values.get("title") or None,
        link=values.get("link") or None,
        campaign=values.get("campaign") or None,
        tags=_split(values.get("tags", ""), r"[,;]"),
        images=images,
        at=at,
        source=f"csv:{path.name}",
    )


def _split(value: str, pattern: str) -> list[str]:
    return [part.strip() for part in re.split(pattern, value) if part.strip()]


def export_csv(rows: Sequence[tuple[Post, list[Delivery]]], tz: ZoneInfo) -> str:
    """Posts as CSV, one row per post, times in office time (importable again)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*EXPORT_COLUMNS, "author", "deliveries"])
    for post, deliveries in rows:
        writer.writerow(
            [
                post.id,
                post.state,
                local_text(post.scheduled_at, tz) if post.scheduled_at else "",
                " ".join(d.channel for d in deliveries),
                post.title or "",
                post.text,
                post.link or "",
                post.campaign or "",
                ";".join(post.tags),
                post.author,
                " ".join(f"{d.channel}:{d.state}" for d in deliveries),
            ]
        )
    return out.getvalue()


def export_json(rows: Sequence[tuple[Post, list[Delivery]]], tz: ZoneInfo) -> str:
    """Posts as a JSON array in the stable format of :mod:`content.serialize`."""
    data: list[dict[str, Any]] = [post_json(p, d, tz) for p, d in rows]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
