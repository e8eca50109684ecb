"""Layout: where everything on a card goes, computed without drawing.

:func:`plan` validates the inputs, fits the header and footer bands, and stacks each
column's blocks; the :class:`Plan` it returns is all :mod:`.drawing` needs (and what tests
inspect). A column is stacked in named steps, see :func:`_stack`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from content.errors import ValidationError
from content.infographic.fitting import (
    LIST_GAP,
    FittedText,
    badge_size,
    fit_block_text,
    fit_list,
    fit_text,
    font,
)
from content.infographic.templates import (
    DEFAULT_SIZE,
    RGB,
    Block,
    Branding,
    Layout,
    Template,
    check_fields,
    check_photo,
    clean,
    is_item,
    palette,
    parse_size,
    template_named,
)

_LANDSCAPE_RATIO = 1.3  # wider than this uses a template's landscape layout
_REF = 1080  # template sizes and gaps are written in px for a 1080 px short side

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Placed:
    """A block with its final rectangle on the canvas (and its fitted text, if any)."""

    block: Block
    box: Box
    texts: tuple[FittedText, ...] = ()  # one for text blocks, one per item for lists
    pill_pad: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Plan:
    """Everything :func:`render` draws, computed without drawing (tests inspect it)."""

    template: Template
    size: tuple[int, int]
    scale: float
    palette: dict[str, RGB]
    branding: Branding
    header: FittedText
    header_box: Box
    footer: FittedText | None
    footer_box: Box | None
    blocks: tuple[Placed, ...]
    fields: dict[str, str] = field(default_factory=dict)


def plan(
    template: str,
    fields: Mapping[str, str],
    *,
    size: str | tuple[int, int] = DEFAULT_SIZE,
    branding: Branding | None = None,
    image: Path | None = None,
) -> Plan:
    """Validate the inputs and lay the card out (fonts chosen, lines wrapped), without drawing."""
    tpl = template_named(template)
    values = check_fields(tpl, fields)
    check_photo(tpl, image)
    branding = branding or Branding()
    colours = palette(branding)
    w, h = parse_size(size)
    short = min(w, h)
    scale = short / _REF
    margin = round(0.065 * short)

    header, header_h = _plan_header(branding, w, short, margin, scale)
    stripe = max(4, round(0.009 * short))
    top = header_h + stripe
    footer_text = values.get(tpl.footer_field, "") if tpl.footer_field else ""
    footer, footer_box = _plan_footer(tpl, footer_text, (w, h), margin, scale)
    bottom = footer_box[1] if footer_box else h
    if tpl.hazard:
        bottom -= round(0.03 * short)

    layout = tpl.landscape if w / h >= _LANDSCAPE_RATIO else tpl.portrait
    area = (margin, top + round(margin * 0.8), w - margin, bottom - round(margin * 0.8))
    placed = _place_columns(layout, values, area, scale, image)
    return Plan(
        template=tpl,
        size=(w, h),
        scale=scale,
        palette=colours,
        branding=branding,
        header=header,
        header_box=(0, 0, w, header_h),
        footer=footer,
        footer_box=footer_box,
        blocks=tuple(placed),
        fields=values,
    )


def _plan_header(
    branding: Branding, width: int, short: int, margin: int, scale: float
) -> tuple[FittedText, int]:
    """The header band's office name on one line right of the logo, and the band's height."""
    header_h = round(0.115 * short)
    logo_d = round(header_h * 0.72)
    name_x = margin + logo_d + round(0.3 * logo_d)
    office = clean(branding.office_name).upper() or " "
    block = Block(kind="text", field="office_name", weight="bold", size=(18, 38))
    header = fit_text(office, block, width - name_x - margin, round(header_h * 0.6), scale)
    if header is None:
        raise ValidationError("office_name_long", field="branding.office_name")
    return replace(header, box=(name_x, 0, width - margin, header_h)), header_h


def _plan_footer(
    tpl: Template, text: str, size: tuple[int, int], margin: int, scale: float
) -> tuple[FittedText | None, Box | None]:
    """The footer band's text and box; none at all when the footer field is empty."""
    if not text:
        return None, None
    w, h = size
    footer_h = round(0.085 * min(w, h))
    block = Block(kind="text", field=tpl.footer_field, weight="bold", size=(16, 30))
    footer = fit_text(text, block, w - 2 * margin, round(footer_h * 0.62), scale)
    if footer is None:
        raise ValidationError("footer_long", field=f"fields.{tpl.footer_field}")
    return footer, (0, h - footer_h, w, h)


def _place_columns(
    layout: Layout,
    values: Mapping[str, str],
    area: Box,
    scale: float,
    image: Path | None,
) -> list[Placed]:
    x0, y0, x1, y1 = area
    col_gap = round(48 * scale) if len(layout.columns) > 1 else 0
    total_w = x1 - x0 - col_gap * (len(layout.columns) - 1)
    placed: list[Placed] = []
    x = x0
    for c, share in enumerate(layout.columns):
        cw = round(total_w * share)
        blocks = [b for b in layout.blocks if b.column == c and _present(b, values, image)]
        placed.extend(_stack(blocks, values, (x, y0, x + cw, y1), scale, layout.valign))
        x += cw + col_gap
    return placed


def _present(block: Block, values: Mapping[str, str], image: Path | None) -> bool:
    if block.kind == "text":
        return bool(values.get(block.field))
    if block.kind == "list":
        return any(v for k, v in values.items() if is_item(k, block.field))
    if block.kind == "image":
        return image is not None
    return True


# --- stacking one column -----------------------------------------------------------------

_FLEX = ("text", "list")  # the kinds whose height follows their text


class _Sized(NamedTuple):
    """A block fitted to a height, not yet placed: the height it uses and its texts."""

    block: Block
    used: int
    texts: tuple[FittedText, ...]
    pad: tuple[int, int]


@dataclass(frozen=True)
class _Column:
    """What fitting a block in one column needs besides the block and its height."""

    values: Mapping[str, str]
    width: int
    scale: float

    def fit(self, block: Block, max_h: int) -> _Sized:
        """``block`` fitted within ``max_h``; a :class:`ValidationError` if its text cannot."""
        bw = round(self.width * block.width)
        if block.kind == "text":
            text = self.values[block.field]
            fitted, pad = fit_block_text(text, block, bw, max_h, self.scale)
            return _Sized(block, fitted.height + 2 * pad[1], (fitted,), pad)
        if block.kind == "list":
            items, used = fit_list(self.values, block, bw, max_h, self.scale)
            return _Sized(block, used, items, (0, 0))
        if block.kind == "rule":
            return _Sized(block, max(3, round(6 * self.scale)), (), (0, 0))
        return _Sized(block, max_h, (), (0, 0))  # icon, image, spacer take their whole share


def _stack(
    blocks: Sequence[Block],
    values: Mapping[str, str],
    col: Box,
    scale: float,
    valign: float,
) -> list[Placed]:
    """Fit blocks top to bottom in a column, then centre the whole stack vertically."""
    x0, y0, x1, y1 = col
    column = _Column(values, x1 - x0, scale)
    gaps = [round(b.gap * scale) if i else 0 for i, b in enumerate(blocks)]
    free = (y1 - y0) - sum(gaps)
    limits = _share_limits(blocks, free)
    sized = _fit_shares(column, blocks, limits, free)
    if not any(b.kind == "image" for b in blocks):
        # A photo column keeps the room left for the photo instead.
        _grow_text(column, sized, free)
    total = _photo_takes_rest(sized, sum(gaps), y1 - y0)
    y = y0 + round(((y1 - y0) - total) * valign)
    placed: list[Placed] = []
    for s, gap in zip(sized, gaps, strict=True):
        y += gap
        placed.append(_place_block(s, x0, column.width, y, scale))
        y += s.used
    return placed


def _share_limits(blocks: Sequence[Block], free: int) -> list[int]:
    """Each block's height limit: its declared share of ``free``, text stretched to fill.

    Blocks absent from this card leave their share to the flexible ones still present.
    """
    flex = [b for b in blocks if b.kind in _FLEX]
    fixed_share = sum(b.height for b in blocks if b not in flex)
    declared = sum(b.height for b in flex)
    stretch = 1.0
    if declared and declared + fixed_share < 1.0:
        stretch = min((1.0 - fixed_share) / declared, 1.6)
    return [int(free * b.height * (stretch if b in flex else 1.0)) for b in blocks]


def _fit_shares(
    column: _Column, blocks: Sequence[Block], limits: Sequence[int], free: int
) -> list[_Sized]:
    """Fit every block in its limit; what does not fit gets a second chance in the room
    the others left unused, in order, and its own error when even that is not enough."""
    sized: list[_Sized | None] = []
    failed: list[tuple[int, ValidationError]] = []
    for block, limit in zip(blocks, limits, strict=True):
        try:
            sized.append(column.fit(block, limit))
        except ValidationError as e:
            sized.append(None)
            failed.append((len(sized) - 1, e))
    slack = free - sum(s.used for s in sized if s) - sum(limits[i] for i, _ in failed)
    for i, error in failed:
        if slack <= 0:
            raise error
        try:
            second = column.fit(blocks[i], limits[i] + slack)
        except ValidationError:
            raise error from None
        sized[i] = second
        slack -= second.used - limits[i]
    # Every block has been fitted by now (a failure raised above).
    fitted = [s for s in sized if s is not None]
    assert len(fitted) == len(sized)
    return fitted


def _grow_text(column: _Column, sized: list[_Sized], free: int) -> None:
    """Let text grow into the room left, in place: largest shares first (a dense list
    gains most)."""
    slack = free - sum(s.used for s in sized)
    for i in sorted(range(len(sized)), key=lambda i: -sized[i].block.height):
        current = sized[i]
        if slack <= 0 or current.block.kind not in _FLEX:
            continue
        grown = column.fit(current.block, current.used + slack)
        slack -= grown.used - current.used
        sized[i] = grown


def _photo_takes_rest(sized: list[_Sized], gaps: int, height: int) -> int:
    """A photo takes whatever the text leaves, so the card never has an empty band.

    Grows the first photo in place; returns the stack's total height.
    """
    total = sum(s.used for s in sized) + gaps
    images = [i for i, s in enumerate(sized) if s.block.kind == "image"]
    if images and total < height:
        i = images[0]
        sized[i] = sized[i]._replace(used=sized[i].used + height - total)
        total = height
    return total


def _place_block(s: _Sized, x0: int, width: int, y: int, scale: float) -> Placed:
    """Put a fitted block at height ``y`` of a column starting at ``x0``."""
    block, used, texts, pad = s
    bw = round(width * block.width)
    bx = x0 + (width - bw) // 2 if block.align == "center" else x0
    box = (bx, y, bx + bw, y + used)
    if block.kind == "text" and block.pill:
        # The pill hugs its text; align decides where it sits.
        t = texts[0]
        tw = max(math.ceil(font(t.weight, t.font_size).getlength(line)) for line in t.lines)
        pw = tw + 2 * pad[0]
        px = x0 + (width - pw) // 2 if block.align == "center" else x0
        box = (px, y, px + pw, y + used)
    if block.kind == "text":
        t = texts[0]
        inner = (box[0] + pad[0], box[1] + pad[1], box[2] - pad[0], box[3] - pad[1])
        texts = (replace(t, box=inner),)
    elif block.kind == "list":
        texts = _place_items(texts, box, round(block.gap * scale * LIST_GAP))
    return Placed(block, box, texts, pad)


def _place_items(items: tuple[FittedText, ...], box: Box, gap: int) -> tuple[FittedText, ...]:
    """Give each list item its own box: right of its number badge, one under the other."""
    x0, y, x1, _ = box
    placed = []
    for t in items:
        badge = badge_size(t.line_height)
        row_h = max(t.height, badge)
        placed.append(replace(t, box=(x0 + badge + round(badge * 0.45), y, x1, y + row_h)))
        y += row_h + gap
    return tuple(placed)
