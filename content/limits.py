"""Each platform's limits on text, counted the way the platforms count: on NFC text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from content.office import FACEBOOK, ZALO_OA


def nfc(text: str) -> str:
    """NFC-normalise: text pasted from macOS or some web forms arrives decomposed (NFD)."""
    return unicodedata.normalize("NFC", text)


#: Terminal escape sequences (CSI such as colours, OSC such as a window title) as a whole,
#: so none of their parameters is left behind as garbage text.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
#: C0 and C1 control characters but tab and newline (a Windows CR goes: "\r\n" is "\n").
_CONTROLS = dict.fromkeys(
    [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0D, 0x20), 0x7F, *range(0x80, 0xA0)]
)


def clean(text: str) -> str:
    """What a post may say: NFC, without terminal escapes or other control characters.

    A feed title, a CSV cell or a paste can carry them; published they are noise, and shown
    in a terminal (the TUI, ``loa post list``) they would recolour, retitle or clear it.
    """
    return _ESCAPES.sub("", nfc(text)).translate(_CONTROLS)


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
