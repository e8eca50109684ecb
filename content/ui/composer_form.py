"""The composer's data: the form as typed, the counters and repeat rule it implies, and
how it becomes a post through the queue rules. No widgets here: the composer screen
(content.ui.composer) reads its fields into a :class:`Form` and hands it to these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from content.errors import ValidationError
from content.limits import TEXT_LIMITS, length
from content.messages import Notice, os_reason
from content.models import PostState
from content.office import ChannelDirectory
from content.queue import ImageInput, Outcome, PostInput, Repeat, night_broadcasts
from content.times import parse_date, parse_when
from content.ui.context import LoaContext
from content.ui.fmt import NOW_WORDS, when, when_long
from content.ui.i18n import _
from content.ui.messages import error_in_words, in_words

#: Form fields that a ValidationError can name, and the error line under each.
ERROR_FIELDS = ("title", "text", "link", "image", "channel", "at", "repeat", "campaign", "tags")
KIND_LABELS = {"facebook": "Facebook", "zalo_oa": "Zalo OA"}
#: Set by `loa web` for each tab: the signed-in account's private directory of photos
#: uploaded from his PC (the server writes them; the composer offers them).
UPLOAD_DIR_ENV = "LOA_UPLOAD_DIR"
#: Seconds between looks at the upload directory for photos uploaded meanwhile.
UPLOAD_POLL = 1.0


def upload_dir() -> Path | None:
    """The web tab's upload directory, or None in a terminal."""
    raw = os.environ.get(UPLOAD_DIR_ENV, "").strip()
    return Path(raw) if raw else None


def uploaded_photos(directory: Path) -> list[str]:
    """The names of the photos in ``directory``, newest first."""
    try:
        files = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return []
    return [p.name for p in sorted(files, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)]


@dataclass
class Form:
    """What the officer typed, read on the UI thread and handed to a worker."""

    title: str
    text: str
    link: str
    images: list[str]
    channels: list[str]
    when: str
    campaign: str
    tags: list[str]
    original_when: str = ""
    #: Channel -> its own text (instead of ``text``).
    variants: dict[str, str] = field(default_factory=dict)
    #: "" (no repeat), "days" (every N days) or "weekly" (on ``repeat_weekdays``).
    repeat_kind: str = ""
    repeat_every: str = ""
    repeat_weekdays: list[int] = field(default_factory=list)
    repeat_until: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def split_list(value: str) -> list[str]:
    """``a, b; c`` -> ``["a", "b", "c"]``."""
    return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]


def counter_lines(
    directory: ChannelDirectory,
    chosen: list[str],
    title: str,
    text: str,
    variants: dict[str, str] | None = None,
) -> list[tuple[str, bool]]:
    """One line per chosen channel: what counts against its limit, and whether it fits.

    A channel with its own text (``variants``) is counted on that text.
    """
    try:
        channels = directory.expand(chosen)
    except ValidationError:
        return []
    lines: list[tuple[str, bool]] = []
    for channel in channels:
        kind = directory.kind_of(channel)
        limits = TEXT_LIMITS[kind]
        parts: list[str] = []
        ok = True
        own = (variants or {}).get(channel)
        if limits.text is not None:
            n = length(own if own is not None else text)
            ok &= n <= limits.text
            label = (
                _("own text {n:,} / {limit:,}") if own is not None else _("text {n:,} / {limit:,}")
            )
            parts.append(label.format(n=n, limit=limits.text))
        if limits.title is not None:
            n = length(title)
            fits = n <= limits.title and (n > 0 or not limits.title_required)
            ok &= fits
            parts.append(_("title {n} / {limit}").format(n=n, limit=limits.title))
            if limits.title_required and not n:
                parts.append(_("needs a title"))
        mark = "✓" if ok else "✗"
        lines.append((f"{mark} {channel} ({KIND_LABELS.get(kind, kind)}): " + ", ".join(parts), ok))
    return lines


def build_repeat(form: Form) -> Repeat | None:
    """The repeat rule the form asks for, or None; a ValidationError names what is missing."""
    if not form.repeat_kind:
        return None
    if not form.repeat_until.strip():
        raise ValidationError("repeat_no_until", field="repeat")
    until = parse_date(form.repeat_until, field="repeat")
    if form.repeat_kind == "days":
        every = form.repeat_every.strip()
        if not every.isdigit() or int(every) < 1:
            raise ValidationError("repeat_no_days", field="repeat")
        return Repeat(until=until, every_days=int(every))
    if not form.repeat_weekdays:
        raise ValidationError("repeat_no_weekday", field="repeat")
    return Repeat(until=until, weekdays=tuple(sorted(form.repeat_weekdays)))


def when_hint(ctx: LoaContext, value: str, chosen: list[str]) -> tuple[str, str]:
    """What the time field says under it while ``value`` is typed: (hint, error).

    Said while typing what the queue would only refuse (a time past) or warn about (a
    Zalo OA among the ``chosen`` channels at night) on saving.
    """
    value = value.strip()
    tz = ctx.tz
    if not value:
        return _("No time: the post waits until someone gives it one."), ""
    if value.lower() in NOW_WORDS:
        return _("As soon as it is approved."), ""
    now = ctx.clock()
    try:
        at = parse_when(value, tz, now=now)
    except ValidationError as exc:
        return "", error_in_words(exc)
    if at < now:
        past = _("{when} is in the past (it is now {now}).")
        return "", past.format(when=when(at, tz), now=when(now, tz))
    text = f"→ {when_long(at, tz)} ({tz.key})"
    try:
        zalo = night_broadcasts(ctx.directory, ctx.directory.expand(chosen), at)
    except ValidationError:
        zalo = []
    if zalo:
        text += "\n⚠ " + in_words(Notice("warn_zalo_night", channels=zalo))
    return text, ""


def image_path(uploads: Path | None, raw: str) -> Path:
    """A typed image: a path in the terminal; in `loa web` (``uploads`` set) one of the
    officer's uploads.

    A browser user has no business reading the server's files: only the names of the
    photos he uploaded are taken there (never a path, never ``..``).
    """
    if uploads is None:
        return Path(raw).expanduser()
    name = raw.strip()
    if name and name in uploaded_photos(uploads):
        return uploads / name
    raise ValidationError("photo_not_uploaded", field="image", name=raw)


def form_when(ctx: LoaContext, form: Form) -> datetime | None:
    """The time typed (None: no time; "now" words: the clock's now)."""
    value = form.when.strip()
    if not value:
        return None
    if value.lower() in NOW_WORDS:
        return ctx.clock()
    return parse_when(value, ctx.tz, now=ctx.clock())


def variants_for(directory: ChannelDirectory, form: Form) -> dict[str, str]:
    """The own texts of channels still chosen (a channel taken off keeps none)."""
    try:
        chosen = set(directory.expand(form.channels))
    except ValidationError:
        chosen = set()
    return {c: t for c, t in form.variants.items() if c in chosen}


def post_request(ctx: LoaContext, form: Form, images: list[ImageInput]) -> PostInput:
    """The form as the queue's input (call from a worker: it may parse and check)."""
    return PostInput(
        text=form.text,
        channels=form.channels,
        title=form.title or None,
        link=form.link or None,
        images=images,
        campaign=form.campaign or None,
        tags=form.tags,
        at=form_when(ctx, form),
        variants=variants_for(ctx.directory, form),
        repeat=build_repeat(form),
    )


def save_form(
    ctx: LoaContext, post_id: int | None, mode: str, form: Form, uploads: Path | None
) -> Outcome:
    """Create the post (``post_id`` None: read its images first) or save the changes to it,
    through the queue rules; ``mode`` is "draft", "submit" or "approve". Call from a worker.
    """
    queue = ctx.queue()
    at = form_when(ctx, form)  # a time it cannot read is said before any image is read
    if post_id is None:
        images = []
        for raw in form.images:
            path = image_path(uploads, raw)
            try:
                images.append(ImageInput(filename=path.name, data=path.read_bytes()))
            except OSError as exc:
                raise ValidationError(
                    "file_unreadable", field="image", path=raw, reason=os_reason(exc)
                ) from None
        request = post_request(ctx, form, images)
        return queue.create(
            request, submit=mode in ("submit", "approve"), approve=mode == "approve"
        )
    outcome = queue.edit(
        post_id,
        text=form.text,
        title=form.title,
        link=form.link,
        channels=form.channels,
        campaign=form.campaign,
        tags=form.tags,
        variants=variants_for(ctx.directory, form),
    )
    warnings = list(outcome.warnings)
    if at is not None and form.when.strip() != form.original_when:
        warnings += queue.schedule(post_id, at).warnings
    if mode == "submit" and outcome.post.state == PostState.DRAFT:
        queue.submit(post_id)
    if mode == "approve":
        warnings += queue.approve(post_id).warnings
    post, _deliveries = queue.get(post_id)
    return Outcome([post], warnings)
