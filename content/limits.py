"""Each platform's limits on text, counted the way the platforms count: on NFC text."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from content.office import FACEBOOK, ZALO_OA


def nfc(text: str) -> str:
    """NFC-normalise: text pasted from macOS or some web forms arrives decomposed (NFD)."""
    return unicodedata.normalize("NFC", text)


@dataclass(frozen=True)
class TextLimits:
    """Character limits of one platform; None means no limit applies."""

    text: int | None
    title: int | None
    title_required: bool
    description: int | None
    author: int | None
    max_images: int


TEXT_LIMITS: dict[str, TextLimits] = {
    # 63,206 is the message limit schedulers use in practice; Meta documents none.
    FACEBOOK: TextLimits(
        text=63_206, title=None, title_required=False, description=None, author=None, max_images=10
    ),
    # Zalo documents title <= 150, description <= 300, author <= 50, but real servers
    # reject strings of exactly 150/300: stay one under.
    ZALO_OA: TextLimits(
        text=None, title=149, title_required=True, description=299, author=49, max_images=10
    ),
}


def length(text: str) -> int:
    """The length a platform counts: characters of the NFC form."""
    return len(nfc(text))
