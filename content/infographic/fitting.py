"""Fonts and text fitting: the largest size at which a field's wrapped text fits its box.

Nothing here knows where a box is on the card (that is :mod:`.layout`): a fitted text
comes back with a box at the origin, and the layout moves it into place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont, features

from content.errors import LoaError, ValidationError
from content.infographic.templates import Block, is_item

FONT_DIR = Path(__file__).parent.parent / "fonts"
FONT_FILES = {"regular": "NotoSans-Regular.ttf", "bold": "NotoSans-Bold.ttf"}
LIST_GAP = 0.6  # space between list items, as a share of the block's gap


def raqm_available() -> bool:
    """True when Pillow can shape text with libraqm (needs libfribidi at run time)."""
    return bool(features.check("raqm"))


@lru_cache(maxsize=512)
def font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """The bundled font of ``weight`` at ``size`` px, laid out by RAQM (refused without it)."""
    if not raqm_available():
        # Without raqm Pillow silently uses BASIC layout, which breaks decomposed
        # Vietnamese; refuse instead of publishing a broken card.
        raise LoaError("raqm_missing")
    return ImageFont.truetype(
        str(FONT_DIR / FONT_FILES[weight]), size, layout_engine=ImageFont.Layout.RAQM
    )


def _line_height(face: ImageFont.FreeTypeFont, spacing: float) -> int:
    ascent, descent = face.getmetrics()
    return math.ceil((ascent + descent) * spacing)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: float) -> list[str] | None:
    """Greedy word wrap by measured width; None if a single word is wider than ``width``."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            continue
        line = words[0]
        if face.getlength(line) > width:
            return None
        for word in words[1:]:
            candidate = f"{line} {word}"
            if face.getlength(candidate) <= width:
                line = candidate
            else:
                if face.getlength(word) > width:
                    return None
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _balanced(text: str, face: ImageFont.FreeTypeFont, width: float, lines: list[str]) -> list[str]:
    """Narrowest wrap with the same number of lines: no lone short word on the last line."""
    if len(lines) < 2:
        return lines
    lo, hi = width * 0.5, width
    best = lines
    for _ in range(8):
        mid = (lo + hi) / 2
        trial = _wrap(text, face, mid)
        if trial is not None and len(trial) <= len(lines):
            best, hi = trial, mid
        else:
            lo = mid
    return best


@dataclass(frozen=True)
class FittedText:
    """A text block after fitting: what tests and the drawer need to know."""

    field: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 the text must stay inside
    font_size: int
    weight: str
    lines: tuple[str, ...]
    line_height: int

    @property
    def height(self) -> int:
        return self.line_height * len(self.lines)


def fit_text(text: str, block: Block, width: int, height: int, scale: float) -> FittedText | None:
    """Largest font size whose wrapped text fits ``width`` x ``height``; None if none does."""
    lo = max(8, round(block.size[0] * scale))
    hi = max(lo, round(block.size[1] * scale))
    best: FittedText | None = None
    while lo <= hi:  # fit is monotonic in size: binary search, ~7 steps
        size = (lo + hi) // 2
        fitted = _try_size(text, block, width, height, size)
        if fitted is not None:
            best, lo = fitted, size + 1
        else:
            hi = size - 1
    if best is not None and block.balance:
        # Balancing keeps the line count, so it is done once, for the chosen size only.
        face = font(block.weight, best.font_size)
        best = replace(best, lines=tuple(_balanced(text, face, width, list(best.lines))))
    return best


def _try_size(text: str, block: Block, width: int, height: int, size: int) -> FittedText | None:
    face = font(block.weight, size)
    lines = _wrap(text, face, width)
    if lines is None or not lines:
        return None
    if block.max_lines and len(lines) > block.max_lines:
        return None
    lh = _line_height(face, block.line_spacing)
    if lh * len(lines) > height:
        return None
    return FittedText(block.field, (0, 0, width, height), size, block.weight, tuple(lines), lh)


def fit_block_text(
    text: str, block: Block, width: int, height: int, scale: float
) -> tuple[FittedText, tuple[int, int]]:
    """Fit a text block's field; also its pill padding (zero without a pill).

    Raises :class:`ValidationError` naming the field when no allowed size fits.
    """
    if block.uppercase:
        text = text.upper()
    pad = (0, 0)
    if block.pill:
        # Padding is relative to the font size actually chosen; reserve for the largest.
        pad = (round(block.size[1] * scale * 0.55), round(block.size[1] * scale * 0.18))
    fitted = fit_text(text, block, width - 2 * pad[0], height - 2 * pad[1], scale)
    if fitted is None:
        raise _cannot_fit(block.field, text)
    if block.pill:
        pad = (round(fitted.font_size * 0.55), round(fitted.font_size * 0.18))
    return fitted, pad


def _cannot_fit(field_name: str, text: str) -> ValidationError:
    longest = max(text.split(), key=len, default="")
    if len(longest) > 25:
        return ValidationError(
            "text_cannot_fit_word", field=f"fields.{field_name}", n=len(text), word=longest[:30]
        )
    return ValidationError("text_cannot_fit", field=f"fields.{field_name}", n=len(text))


def fit_list(
    values: Mapping[str, str], block: Block, width: int, height: int, scale: float
) -> tuple[tuple[FittedText, ...], int]:
    """One font size for every item (a list with mixed sizes looks broken).

    Returns the fitted items and the height they use; raises :class:`ValidationError`
    naming the longest item when no allowed size fits them all.
    """
    items = [(k, v) for k, v in values.items() if is_item(k, block.field) and v]
    lo = max(8, round(block.size[0] * scale))
    hi = max(lo, round(block.size[1] * scale))
    gap = round(block.gap * scale * LIST_GAP)

    def attempt(size: int) -> tuple[tuple[FittedText, ...], int] | None:
        face = font(block.weight, size)
        lh = _line_height(face, block.line_spacing)
        badge = badge_size(lh)
        text_w = width - badge - round(badge * 0.45)
        out = []
        for name, text in items:
            lines = _wrap(text, face, text_w)
            if lines is None:
                return None
            out.append(FittedText(name, (0, 0, text_w, 0), size, block.weight, tuple(lines), lh))
        used = sum(max(t.height, badge) for t in out) + gap * (len(out) - 1)
        return (tuple(out), used) if used <= height else None

    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        result = attempt(mid)
        if result is not None:
            best, lo = result, mid + 1
        else:
            hi = mid - 1
    if best is None:
        name, text = max(items, key=lambda kv: len(kv[1]))
        raise _cannot_fit(name, text)
    fitted, used = best
    # Even out each item's lines (no lone word on a second line); the count stays the same.
    texts = dict(items)
    balanced = tuple(
        replace(
            t,
            lines=tuple(
                _balanced(texts[t.field], font(t.weight, t.font_size), t.box[2], list(t.lines))
            ),
        )
        for t in fitted
    )
    return balanced, used


def badge_size(line_height: int) -> int:
    """Diameter of a list item's number badge: a little taller than one line."""
    return round(line_height * 1.05)
