"""A month of posts at once: CSV import (all or nothing) and CSV/JSON export.

Import columns (a header row is required; order free):

    at         YYYY-MM-DD HH:MM in office time, or ISO 8601; empty = no time yet
    channels   channel ids or group names, separated by spaces, commas or semicolons
    text       the post text (required)
    title      required for Zalo OA channels
    link, campaign
    tags       separated by commas or semicolons
    images     image files, separated by semicolons, relative to the CSV file

Written for the offices' spreadsheets (Excel on Windows, often in a Vietnamese locale):

* cells may be separated by commas or by semicolons (what Excel saves where the comma is
  the decimal mark), told apart by the header line; a UTF-8 BOM is accepted;
* exports start with a UTF-8 BOM, without which Excel reads the Vietnamese as Windows-1258
  mojibake;
* an exported cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  gets a leading ``'`` so a spreadsheet shows it as text instead of running it as a
  formula (a feed's title is outside text); the import removes that ``'`` again;
* a row that is already queued (the same text, channels and time as a post not
  cancelled, or as an earlier row of the file) is reported and skipped, so importing a
  file twice does not post everything twice;
* an export's ``images`` column names each image ``<media id>-<file name>``; written with
  ``-o``, the images themselves are put beside the CSV under those names, where an import
  looks for them. An export to standard output names them only (there is no "beside").

The export columns ``id``, ``state``, ``author`` and ``deliveries`` are accepted and
ignored, so an export can be edited and imported again as new posts.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from content.db import session_scope
from content.errors import LoaError, ValidationError
from content.files import write_private
from content.messages import Notice, os_reason
from content.models import Delivery, MediaFile, Post, PostState
from content.queue import ImageInput, PostInput, Queue, fingerprint
from content.serialize import post_json
from content.times import local_text, parse_when

IMPORT_COLUMNS = ("at", "channels", "text", "title", "link", "campaign", "tags", "images")
IGNORED_COLUMNS = ("id", "state", "author", "deliveries")
EXPORT_COLUMNS = (
    "id",
    "state",
    "at",
    "channels",
    "title",
    "text",
    "link",
    "campaign",
    "tags",
    "images",
)
#: A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Excel on Windows needs it to read the file as UTF-8.
BOM = "\ufeff"
#: Validation errors name the field; this maps it back to the column the user wrote.
_FIELD_TO_COLUMN = {"channel": "channels", "image": "images", "variant": "channels"}


class ImportRefused(LoaError):
    """At least one row is wrong; nothing was imported. ``details`` lists every problem."""


@dataclass
class ImportPlan:
    """What an import would create, and the rows it leaves out as already queued."""

    requests: list[PostInput]
    #: One line per skipped row: where it is and which post it repeats.
    skipped: list[str] = field(default_factory=list)


def read_csv(path: Path, queue: Queue, *, keep_duplicates: bool = False) -> ImportPlan:
    """Parse and validate every row of ``path``; raises ImportRefused listing all bad rows.

    Rows already queued (see the module docstring) are left out and listed in
    :attr:`ImportPlan.skipped`, unless ``keep_duplicates``.
    """
    reader = _csv_reader(path)
    rows = _checked_rows(reader, path, queue)
    return _plan(rows, path, queue, keep_duplicates)


def _csv_reader(path: Path) -> csv.DictReader[str]:
    """A reader of ``path``'s rows once its bytes, encoding and header are good."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoaError("file_unreadable", path=str(path), reason=os_reason(exc)) from None
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets often write a BOM
    except UnicodeDecodeError as exc:
        raise LoaError("csv_not_utf8", where=str(path), byte=exc.start) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = reader.fieldnames or []
    if not header:
        raise LoaError("csv_empty", where=str(path), columns=list(IMPORT_COLUMNS))
    unknown = [h for h in header if h not in IMPORT_COLUMNS and h not in IGNORED_COLUMNS]
    if unknown:
        raise LoaError(
            "csv_unknown_column",
            where=_at(path, 1),
            name=unknown[0],
            columns=list(IMPORT_COLUMNS),
        )
    for required in ("channels", "text"):
        if required not in header:
            raise LoaError("csv_missing_column", where=_at(path, 1), name=required)
    return reader


def _checked_rows(
    reader: csv.DictReader[str], path: Path, queue: Queue
) -> list[tuple[int, PostInput, list[str]]]:
    """Each non-blank row validated: (row number, request, duplicate key); every bad row is
    listed in one ImportRefused."""
    tz = queue.directory.office.timezone
    now = queue.clock()
    rows: list[tuple[int, PostInput, list[str]]] = []
    problems: list[LoaError] = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            problems.append(LoaError("csv_extra_cells", where=_at(path, number)))
            continue
        values = {k: _undefuse((v or "").strip()) for k, v in row.items()}
        if not any(values.values()):
            continue  # blank lines in spreadsheets
        try:
            request = _row_to_request(values, path, tz, now)
            normalised, channels = queue.validate(request, now=now)
        except ValidationError as exc:
            column = _FIELD_TO_COLUMN.get(exc.field or "", exc.field or "?")
            where = Notice("at_row_column", path=str(path), row=number, column=column)
            problems.append(LoaError(exc.code, where=where, **exc.params))
            continue
        rows.append((number, request, _key(normalised, channels)))
    if problems:
        raise ImportRefused(
            "import_refused_one" if len(problems) == 1 else "import_refused",
            where=str(path),
            details=problems,
            n=len(problems),
        )
    if not rows:
        raise LoaError("csv_no_rows", where=str(path))
    return rows


def _plan(
    rows: list[tuple[int, PostInput, list[str]]], path: Path, queue: Queue, keep_duplicates: bool
) -> ImportPlan:
    """The rows to create, leaving out (unless ``keep_duplicates``) those already queued and
    those repeating an earlier row."""
    requests: list[PostInput] = []
    skipped: list[str] = []
    queued = {} if keep_duplicates else _queued(queue.engine, [k for _, _, k in rows])
    seen: dict[tuple[str, ...], int] = {}
    for number, request, key in rows:
        earlier = seen.get(tuple(key))
        if not keep_duplicates and tuple(key) in queued:
            skipped.append(
                Notice("csv_skip_queued", where=_at(path, number), id=queued[tuple(key)])
            )
        elif not keep_duplicates and earlier is not None:
            skipped.append(Notice("csv_skip_same", where=_at(path, number), row=earlier))
        else:
            seen[tuple(key)] = number
            requests.append(request)
    return ImportPlan(requests, skipped)


def _at(path: Path, row: int) -> Notice:
    """Where a row is, as a place the messages name (``FILE: row N``)."""
    return Notice("at_row", path=str(path), row=row)


def _delimiter(text: str) -> str:
    """The cell separator, told by the header line (column names contain none of them)."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _key(request: PostInput, channels: Sequence[str]) -> list[str]:
    """What makes two posts the same post: text, channels and time (see _queued)."""
    at = request.at.isoformat() if request.at else ""
    return [fingerprint(request.text), at, *sorted(set(channels))]


def _queued(engine: Engine, keys: list[list[str]]) -> dict[tuple[str, ...], int]:
    """Of ``keys``, those a post not cancelled already has: key -> that post's id."""
    prints = sorted({k[0] for k in keys})
    found: dict[tuple[str, ...], int] = {}
    with session_scope(engine, write=False) as session:
        posts = session.exec(
            select(Post.id, Post.scheduled_at, Post.fingerprint)
            .where(col(Post.fingerprint).in_(prints))
            .where(col(Post.state) != PostState.CANCELLED)
        ).all()
        channels: dict[int, set[str]] = {}
        if posts:
            for owner, channel in session.exec(
                select(Delivery.post_id, Delivery.channel).where(
                    col(Delivery.post_id).in_([p[0] for p in posts])
                )
            ).all():
                channels.setdefault(owner, set()).add(channel)
    for post_id, at, printed in posts:
        if post_id is not None:
            key = (printed, at.isoformat() if at else "", *sorted(channels.get(post_id, ())))
            found.setdefault(key, post_id)
    return found


def _undefuse(value: str) -> str:
    """A cell without the ``'`` an export put before a formula-like start (see _defuse)."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _defuse(value: str) -> str:
    """A cell a spreadsheet shows as text: a formula-like start gets a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _row_to_request(values: dict[str, str], path: Path, tz: ZoneInfo, now: datetime) -> PostInput:
    at = parse_when(values["at"], tz, now=now) if values.get("at") else None
    images = []
    for name in _split(values.get("images", ""), ";"):
        file = (path.parent / name).resolve()
        try:
            images.append(ImageInput(filename=name, data=file.read_bytes()))
        except OSError as exc:
            raise ValidationError(
                "file_unreadable", field="image", path=name, reason=os_reason(exc)
            ) from None
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


def export_csv(
    rows: Sequence[tuple[Post, list[Delivery]]],
    tz: ZoneInfo,
    *,
    images: dict[int, str] | None = None,
    delimiter: str = ",",
) -> str:
    """Posts as CSV for a spreadsheet, one row per post, times in office time.

    Starts with a UTF-8 BOM and defuses formula-like cells (see the module docstring);
    ``images`` names each image id (see :func:`export_images`). Importable again.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", delimiter=delimiter)
    writer.writerow([*EXPORT_COLUMNS, "author", "deliveries"])
    names = images or {}
    for post, deliveries in rows:
        cells = [
            str(post.id),
            post.state,
            local_text(post.scheduled_at, tz) if post.scheduled_at else "",
            " ".join(d.channel for d in deliveries),
            post.title or "",
            post.text,
            post.link or "",
            post.campaign or "",
            ";".join(post.tags),
            ";".join(names.get(i, str(i)) for i in post.image_ids),
            post.author,
            " ".join(f"{d.channel}:{d.state}" for d in deliveries),
        ]
        writer.writerow([_defuse(c) for c in cells])
    return BOM + out.getvalue()


def export_images(
    engine: Engine, rows: Sequence[tuple[Post, list[Delivery]]], folder: Path | None
) -> dict[int, str]:
    """The name of each image of ``rows`` (``<id>-<file name>``); with ``folder``, each is
    also written there (mode 600) unless a file of that name is already there."""
    ids = sorted({i for post, _ in rows for i in post.image_ids})
    if not ids:
        return {}
    names: dict[int, str] = {}
    with session_scope(engine, write=False) as session:
        found = session.exec(select(MediaFile).where(col(MediaFile.id).in_(ids))).all()
        for media in found:
            assert media.id is not None
            # Only the last path part: a stored name never places a file elsewhere.
            name = f"{media.id}-{Path(media.filename).name or 'image'}"
            names[media.id] = name
            if folder is not None and not (folder / name).exists():
                write_private(folder / name, media.data)
    return names


def export_json(rows: Sequence[tuple[Post, list[Delivery]]], tz: ZoneInfo) -> str:
    """Posts as a JSON array in the stable format of :mod:`content.serialize`."""
    data: list[dict[str, Any]] = [post_json(p, d, tz) for p, d in rows]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
