"""Turning an :class:`OutgoingPost` into a Zalo OA article body
(docs/platforms/zalo-oa.md#creating-an-article).

Zalo counts limits on NFC text and refuses strings of exactly 150 (title) / 300 (description)
/ 50 (author) characters, so every field is normalised and kept one under (content.limits).
The title and description rules live in content.preview, shared with the composer's
preview. The cover must be a public URL: the first image, a rendered infographic, or a
default card drawn from the "announcement" template with the post's title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from content import infographic
from content.errors import LoaError, ValidationError
from content.limits import TEXT_LIMITS, nfc
from content.office import ZALO_OA
from content.preview import clip, zalo_description, zalo_title
from content.queue import fingerprint
from scheduler.channels.base import ContentError, OutgoingPost
from scheduler.channels.media_store import MediaStore

LIMITS = TEXT_LIMITS[ZALO_OA]
#: Zalo shows covers in a wide frame; 16:9 crops least (see content.infographic.SIZES).
COVER_SIZE = "1200x675"
DEFAULT_COVER_TEMPLATE = "announcement"
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class CoverSource:
    """What the cover is made from, in order of preference."""

    kind: str  # "infographic", "image" or "default"
    data: bytes | None = None


def article_title(post: OutgoingPost) -> str:
    """The post's title, else its first line; within Zalo's limit."""
    title = zalo_title(post.title, post.text)
    if not title:
        raise ContentError("Zalo needs an article title", platform="zalo_oa")
    return title


def article_description(post: OutgoingPost) -> str:
    """The first ~299 characters of the text (Zalo shows it under the title)."""
    # Empty only when there is neither a text nor a title: article_title raises then.
    return zalo_description(post.title, post.text) or article_title(post)


def article_author(name: str) -> str:
    """The author line (fewer than 50 characters)."""
    return clip(name, LIMITS.author or 49)


def paragraphs(post: OutgoingPost) -> list[str]:
    """The text blocks of the body: one per paragraph, plus the link if the text lacks it."""
    parts = [nfc(p).strip() for p in _PARAGRAPH_BREAK.split(post.text)]
    blocks = [p for p in parts if p]
    if post.link and post.link not in post.text:
        blocks.append(post.link)
    return blocks


def body_fingerprint(text_blocks: Sequence[str]) -> str:
    """The fingerprint of an article's text blocks (what find() compares)."""
    return fingerprint("\n\n".join(text_blocks))


def cover_bytes(
    post: OutgoingPost, *, author: str, branding: infographic.Branding | None
) -> tuple[bytes, str, str]:
    """The cover image ``(bytes, mime, kind)``; Pillow work, so call it off the event loop.

    A post carrying an infographic gets it rendered as the cover; else its first image;
    else a default "announcement" card with the title.
    """
    spec = post.infographic
    try:
        if spec:
            img = infographic.render(
                str(spec["template"]),
                _fields(spec.get("fields")),
                size=COVER_SIZE,
                branding=branding,
            )
            data, mime = infographic.encode_for_channel(img, ZALO_OA)
            return data, mime, "infographic"
        if post.images:
            return post.images[0].data, post.images[0].mime, "image"
        fields = {"quote": clip(article_title(post), 240), "author": clip(author, 60)}
        img = infographic.render(DEFAULT_COVER_TEMPLATE, fields, size=COVER_SIZE, branding=branding)
        data, mime = infographic.encode_for_channel(img, ZALO_OA)
        return data, mime, "default"
    except (LoaError, KeyError) as exc:
        raise ContentError(
            f"Zalo needs a cover image; rendering one failed: {exc}", platform="zalo_oa"
        ) from None


def build_article(
    post: OutgoingPost,
    *,
    author: str,
    store: MediaStore,
    branding: infographic.Branding | None = None,
) -> dict[str, Any]:
    """The ``article/create`` body: images are first published to the media store.

    Raises :class:`ContentError` for an image Zalo cannot take (not JPEG/PNG after
    re-encoding, or unusable) and :class:`LoaError` when the store cannot be written.
    """
    data, _mime, kind = cover_bytes(post, author=author, branding=branding)
    cover = _store(store, data, "cover")
    body: list[dict[str, Any]] = [{"type": "text", "content": p} for p in paragraphs(post)]
    # The first image already is the cover, unless the cover is a rendered card.
    body_images = post.images if kind != "image" else post.images[1:]
    for blob in body_images:
        body.append({"type": "image", "url": _store(store, blob.data, blob.filename).url})
    if not body:
        raise ContentError("Zalo needs at least one body block", platform="zalo_oa")
    return {
        "type": "normal",
        "title": article_title(post),
        "author": article_author(author),
        "cover": {"cover_type": "photo", "photo_url": cover.url, "status": "show"},
        "description": article_description(post),
        "body": body,
        "status": "show",
        "comment": "show",
    }


def _store(store: MediaStore, data: bytes, name: str) -> Any:
    try:
        return store.publish(data, ZALO_OA)
    except ValidationError as exc:
        raise ContentError(f"{name}: {exc}", platform="zalo_oa") from None


def _fields(raw: Any) -> Mapping[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): str(v) for k, v in raw.items() if v is not None}
