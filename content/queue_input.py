"""What a person asks of the queue, and the checks it must pass before anything is written.

:func:`validate` checks a :class:`PostInput` against every channel it names (text and
title lengths, images, link, time, repeat rule) and returns it normalised; the first
problem is raised as a :class:`ValidationError` naming its field, so a face can show it
under that field. Nothing here reads or writes the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from content import media
from content.errors import ValidationError
from content.limits import TEXT_LIMITS, clean, length, nfc
from content.office import ChannelDirectory
from content.times import NOW_TOLERANCE_SECONDS

#: A repeat rule makes at most this many posts at once.
MAX_OCCURRENCES = 366
#: Source images larger than this are refused outright (re-encoding cannot save them).
MAX_SOURCE_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ImageInput:
    """An image as the user gave it: a name for messages and the file's bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Repeat:
    """Repeat every ``every_days`` days, or weekly on ``weekdays`` (0=Monday), until a date."""

    until: date
    every_days: int | None = None
    weekdays: tuple[int, ...] = ()


@dataclass
class PostInput:
    """What a user asks for when creating or fully editing a post."""

    text: str
    channels: Sequence[str]
    title: str | None = None
    link: str | None = None
    images: Sequence[ImageInput] = ()
    campaign: str | None = None
    tags: Sequence[str] = ()
    at: datetime | None = None
    variants: dict[str, str] = field(default_factory=dict)
    repeat: Repeat | None = None
    infographic: dict[str, Any] | None = None
    source: str | None = None


def fingerprint(text: str) -> str:
    """A content fingerprint: NFC, case-folded, whitespace collapsed, hashed."""
    canonical = " ".join(nfc(text).casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def validate(
    request: PostInput, directory: ChannelDirectory, now: datetime
) -> tuple[PostInput, list[str]]:
    """Check ``request`` against every chosen channel; returns it normalised and its channels.

    Raises :class:`ValidationError` naming the field at the first problem.
    """
    channels = directory.expand(request.channels)
    if not channels:
        raise ValidationError("no_channel", field="channel")
    text = clean(request.text).strip()
    if not text:
        raise ValidationError("no_text", field="text")
    title = clean(request.title).strip() if request.title else None
    link = request.link.strip() if request.link else None
    if link:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("not_http_url", field="link", url=link)
    variants = {}
    for channel, variant in request.variants.items():
        if channel not in channels:
            raise ValidationError("variant_channel", field="variant", channel=channel)
        variants[channel] = clean(variant).strip()
    for channel in channels:
        kind = directory.kind_of(channel)
        _check_text(channel, kind, variants.get(channel, text), title, len(request.images))
    _check_images(request.images, channels, directory)
    if request.at is not None:
        check_future(request.at, now, directory)
    if request.repeat is not None:
        _check_repeat(request.at, request.repeat, directory)
    tags = [clean(t).strip() for t in request.tags if clean(t).strip()]
    campaign = clean(request.campaign).strip() if request.campaign else None
    normalised = replace(
        request,
        text=text,
        title=title,
        link=link,
        variants=variants,
        tags=tags,
        campaign=campaign or None,
    )
    return normalised, channels


def _check_images(
    images: Sequence[ImageInput], channels: list[str], directory: ChannelDirectory
) -> None:
    """Each image is readable, not too big, and fits each channel's rules."""
    infos = [_inspect(img) for img in images]
    for channel in channels:
        kind = directory.kind_of(channel)
        for img, info in zip(images, infos, strict=True):
            try:
                media.check_for_channel(info, kind)
            except ValidationError as exc:
                raise ValidationError(
                    "image_for_channel",
                    field="image",
                    name=img.filename,
                    reason=exc.notice(),
                    channel=channel,
                ) from None


def _check_text(channel: str, kind: str, text: str, title: str | None, images: int) -> None:
    limits = TEXT_LIMITS[kind]
    if limits.text is not None and length(text) > limits.text:
        raise ValidationError(
            "text_too_long",
            field="text",
            n=length(text),
            channel=channel,
            kind=kind,
            limit=limits.text,
        )
    if limits.title_required and not title:
        raise ValidationError(
            "title_required", field="title", channel=channel, kind=kind, limit=limits.title
        )
    if title and limits.title is not None and length(title) > limits.title:
        raise ValidationError(
            "title_too_long",
            field="title",
            n=length(title),
            channel=channel,
            kind=kind,
            limit=limits.title,
        )
    if images > limits.max_images:
        raise ValidationError(
            "too_many_images",
            field="image",
            n=images,
            channel=channel,
            kind=kind,
            limit=limits.max_images,
        )


def _inspect(image: ImageInput) -> media.ImageInfo:
    if len(image.data) > MAX_SOURCE_IMAGE_BYTES:
        raise ValidationError(
            "image_too_big",
            field="image",
            name=image.filename,
            mb=len(image.data) / 1_048_576,
            limit=MAX_SOURCE_IMAGE_BYTES // 1_048_576,
        )
    try:
        return media.inspect_image(image.data, name=image.filename)
    except ValidationError as exc:
        raise exc.located(field="image") from None


def check_future(at: datetime, now: datetime, directory: ChannelDirectory) -> None:
    """Refuse a naive time, and a time in the past (beyond ``NOW_TOLERANCE_SECONDS``)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the queue")
    if at < now - timedelta(seconds=NOW_TOLERANCE_SECONDS):
        tz = directory.office.timezone
        raise ValidationError(
            "time_past", field="at", when=at.astimezone(tz), now=now.astimezone(tz)
        )


def _check_repeat(at: datetime | None, repeat: Repeat, directory: ChannelDirectory) -> None:
    if at is None:
        raise ValidationError("repeat_no_start", field="at")
    if (repeat.every_days is None) == (not repeat.weekdays):
        raise ValidationError("repeat_rule", field="repeat")
    if repeat.every_days is not None and repeat.every_days < 1:
        raise ValidationError("repeat_days", field="repeat")
    if any(d not in range(7) for d in repeat.weekdays):
        raise ValidationError("repeat_weekdays", field="repeat")
    first_day = at.astimezone(directory.office.timezone).date()
    if repeat.until < first_day:
        raise ValidationError("repeat_until_before", field="until", date=repeat.until.isoformat())
    if len(occurrences(at, repeat, directory)) > MAX_OCCURRENCES:
        raise ValidationError("repeat_too_many", field="until", n=MAX_OCCURRENCES)


def occurrences(
    at: datetime | None, repeat: Repeat | None, directory: ChannelDirectory
) -> list[datetime | None]:
    """Each occurrence's time: the same wall-clock time in the office's zone, as UTC."""
    if at is None or repeat is None:
        return [at]
    tz = directory.office.timezone
    local = at.astimezone(tz)
    times: list[datetime | None] = []
    day = local.date()
    while day <= repeat.until and len(times) <= MAX_OCCURRENCES:
        if repeat.every_days is not None:
            offset = (day - local.date()).days
            take = offset % repeat.every_days == 0
        else:
            take = day.weekday() in repeat.weekdays
        if take:
            times.append(datetime.combine(day, local.timetz()).astimezone(UTC))
        day += timedelta(days=1)
    return times
