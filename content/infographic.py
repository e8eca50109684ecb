"""Infographic cards: declarative templates (content/templates/*.toml) drawn with Pillow.

A template names its fields and lists *blocks* (text, numbered list, icon, photo, rule)
stacked top to bottom in one or two columns, separately for portrait/square and for
landscape canvases. Every card shares one frame: a header band in the office's primary
colour with its logo and name, an accent stripe, and an optional footer band.

Text rules (see shared/reference/libraries.md section C for why):

* every field is NFC-normalised before measuring: decomposed input renders identically;
* fonts use the RAQM layout engine explicitly, and we refuse to run without it, because
  Pillow silently falls back to BASIC, which misplaces stacked Vietnamese diacritics;
* lines are wrapped at word boundaries by *measured* advance width, and each block's font
  size is the largest that fits its box, found by our own binary search (Pillow 13's
  ``ImageText`` scaling mis-sizes); a field that cannot fit even at the block's minimum size
  is a :class:`ValidationError` naming the field, never clipped text;
* line height is the font's ascent + descent (not its size), so stacked marks such as
  "Ầ" or "Ộ" never touch the line above.
"""

from __future__ import annotations

import io
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont, ImageOps, features

from content import media
from content.errors import LoaError, ValidationError
from content.messages import os_reason

FONT_DIR = Path(__file__).parent / "fonts"
TEMPLATE_DIR = Path(__file__).parent / "templates"
FONT_FILES = {"regular": "NotoSans-Regular.ttf", "bold": "NotoSans-Bold.ttf"}

#: Named sizes the platforms want. 1200x675 (16:9) is our choice for Zalo article covers:
#: Zalo shows covers in a wide frame but publishes no exact ratio we could confirm, and 16:9
#: crops least in both its list and article views.
SIZES: dict[str, tuple[int, int]] = {
    "1080x1080": (1080, 1080),  # square feed post (Facebook, Zalo)
    "1080x1350": (1080, 1350),  # 4:5 portrait, the tallest Facebook shows uncropped in feed
    "1200x630": (1200, 630),  # 1.91:1 link share / Facebook landscape
    "1200x675": (1200, 675),  # 16:9 Zalo OA article cover
}
DEFAULT_SIZE = "1080x1080"
_MIN_SIDE, _MAX_SIDE = 320, 4096
_LANDSCAPE_RATIO = 1.3  # wider than this uses a template's landscape layout
_REF = 1080  # template sizes and gaps are written in px for a 1080 px short side
_LIST_GAP = 0.6  # space between list items, as a share of the block's gap


# --- branding and colours ----------------------------------------------------------------


@dataclass(frozen=True)
class Branding:
    """The issuing office's look: name in the header, two colours, an optional logo file."""

    office_name: str = "Công an tỉnh"
    primary: str = "#0D3B66"  # deep navy: authoritative, readable under white text
    accent: str = "#F2B705"  # gold of the national emblem's star
    logo_path: Path | None = None


_FIXED_COLOURS = {
    "ink": "#1A1F26",
    "muted": "#55606B",
    "paper": "#F7F5F0",
    "white": "#FFFFFF",
    "danger": "#C62828",
    "light": "#DCE3EA",
}


def _rgb(value: str, *, field_name: str) -> tuple[int, int, int]:
    try:
        r, g, b, *_ = ImageColor.getrgb(value)
    except ValueError:
        raise ValidationError("colour_bad", field=field_name, value=value) from None
    return r, g, b


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    r, g, bb = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return r, g, bb


def _luminance(c: tuple[int, int, int]) -> float:
    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _palette(branding: Branding) -> dict[str, tuple[int, int, int]]:
    colours = {k: _rgb(v, field_name="colour") for k, v in _FIXED_COLOURS.items()}
    primary = _rgb(branding.primary, field_name="branding.primary")
    accent = _rgb(branding.accent, field_name="branding.accent")
    colours["primary"] = primary
    colours["accent"] = accent
    colours["primary_dark"] = _mix(primary, (0, 0, 0), 0.35)
    colours["primary_soft"] = _mix(primary, (255, 255, 255), 0.88)
    colours["accent_soft"] = _mix(accent, (255, 255, 255), 0.8)
    return colours


def _on(colour: tuple[int, int, int], palette: Mapping[str, tuple[int, int, int]]):
    """Ink or white, whichever reads better on ``colour``."""
    return palette["ink"] if _luminance(colour) > 0.4 else palette["white"]


# --- templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """One input of a template."""

    name: str
    label: str
    required: bool
    max_chars: int
    default: str = ""
    multiline: bool = False


@dataclass(frozen=True)
class TemplateInfo:
    """What :func:`list_templates` tells a user or UI about a template."""

    name: str
    title: str
    description: str
    fields: tuple[FieldInfo, ...]
    sizes: tuple[str, ...]
    image: str  # "none", "optional" or "required": does it take a photo?


@dataclass(frozen=True)
class Block:
    """One element of a layout; see content/templates/README.md for the keys."""

    kind: str  # text | list | icon | image | rule | spacer
    height: float = 0.0  # share of the column's free height this block may use
    column: int = 0
    field: str = ""  # text: the field; list: the field-name prefix ("item" -> item1...)
    weight: str = "regular"
    color: str = "ink"
    size: tuple[int, int] = (28, 48)  # font px range at a 1080 px short side
    align: str = "left"
    uppercase: bool = False
    line_spacing: float = 1.0
    max_lines: int = 0
    pill: str = ""  # colour of a rounded label behind the text
    balance: bool = False  # even out line lengths (titles)
    icon: str = ""
    gap: int = 28  # px before this block, at a 1080 px short side
    width: float = 1.0  # share of the column width (rules, icons)


@dataclass(frozen=True)
class Layout:
    columns: tuple[float, ...]
    blocks: tuple[Block, ...]
    valign: float  # 0 top, 0.5 centre


@dataclass(frozen=True)
class Template:
    info: TemplateInfo
    background: str
    footer_field: str
    hazard: bool
    portrait: Layout
    landscape: Layout

    @property
    def fields(self) -> dict[str, FieldInfo]:
        return {f.name: f for f in self.info.fields}


_BLOCK_KEYS = set(Block.__dataclass_fields__)


def _load_template(path: Path) -> Template:
    """Parse one template file; errors name the file and key (they are our own files)."""
    where = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        fields = tuple(
            FieldInfo(
                name=name,
                label=spec.get("label", name),
                required=bool(spec.get("required", False)),
                max_chars=int(spec["max_chars"]),
                default=unicodedata.normalize("NFC", spec.get("default", "")),
                multiline=bool(spec.get("multiline", False)),
            )
            for name, spec in raw["fields"].items()
        )
        info = TemplateInfo(
            name=raw["name"],
            title=raw["title"],
            description=raw["description"],
            fields=fields,
            sizes=tuple(raw.get("sizes", SIZES)),
            image=raw.get("image", "none"),
        )
        layouts = {
            k: _parse_layout(raw["layout"][k], where=f"{where}: layout.{k}")
            for k in (
                "portrait",
                "landscape",
            )
        }
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{where}: bad template ({e!r})") from e
    names = {f.name for f in fields}
    for layout in layouts.values():
        for b in layout.blocks:
            if b.kind == "text" and b.field not in names:
                raise ValueError(f"{where}: block uses unknown field {b.field!r}")
    return Template(
        info=info,
        background=raw.get("background", "paper"),
        footer_field=raw.get("footer_field", ""),
        hazard=bool(raw.get("hazard", False)),
        portrait=layouts["portrait"],
        landscape=layouts["landscape"],
    )


def _parse_layout(raw: Mapping, *, where: str) -> Layout:
    blocks = []
    for i, spec in enumerate(raw["blocks"]):
        unknown = set(spec) - _BLOCK_KEYS
        if unknown:
            raise ValueError(f"{where}.blocks[{i}]: unknown keys {sorted(unknown)}")
        spec = dict(spec)
        if "size" in spec:
            spec["size"] = tuple(spec["size"])
        blocks.append(Block(**spec))
    columns = tuple(raw.get("columns", [1.0]))
    for c in range(len(columns)):
        total = sum(b.height for b in blocks if b.column == c)
        if total > 1.0001:
            raise ValueError(f"{where}: column {c} heights add up to {total:.2f} > 1")
    return Layout(
        columns=columns,
        blocks=tuple(blocks),
        valign={"top": 0.0, "center": 0.5}[raw.get("valign", "center")],
    )


@lru_cache(maxsize=1)
def _templates() -> dict[str, Template]:
    found = [_load_template(p) for p in sorted(TEMPLATE_DIR.glob("*.toml"))]
    return {t.info.name: t for t in found}


def sample_fields() -> dict[str, dict[str, str]]:
    """Realistic Vietnamese text for each template (goldens, benchmarks, previews)."""
    path = Path(__file__).resolve().parent / "samples" / "infographic_fields.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def list_templates() -> list[TemplateInfo]:
    """Every bundled template, in file-name order."""
    return [t.info for t in _templates().values()]


def _template(name: str) -> Template:
    try:
        return _templates()[name]
    except KeyError:
        raise ValidationError(
            "template_unknown", field="template", name=name, known=list(_templates())
        ) from None


# --- fonts and text fitting --------------------------------------------------------------


def raqm_available() -> bool:
    """True when Pillow can shape text with libraqm (needs libfribidi at run time)."""
    return bool(features.check("raqm"))


@lru_cache(maxsize=512)
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    if not raqm_available():
        # Without raqm Pillow silently uses BASIC layout, which breaks decomposed
        # Vietnamese; refuse instead of publishing a broken card.
        raise LoaError("raqm_missing")
    return ImageFont.truetype(
        str(FONT_DIR / FONT_FILES[weight]), size, layout_engine=ImageFont.Layout.RAQM
    )


def _line_height(font: ImageFont.FreeTypeFont, spacing: float) -> int:
    ascent, descent = font.getmetrics()
    return math.ceil((ascent + descent) * spacing)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str] | None:
    """Greedy word wrap by measured width; None if a single word is wider than ``width``."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            continue
        line = words[0]
        if font.getlength(line) > width:
            return None
        for word in words[1:]:
            candidate = f"{line} {word}"
            if font.getlength(candidate) <= width:
                line = candidate
            else:
                if font.getlength(word) > width:
                    return None
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _balanced(text: str, font: ImageFont.FreeTypeFont, width: float, lines: list[str]):
    """Narrowest wrap with the same number of lines: no lone short word on the last line."""
    if len(lines) < 2:
        return lines
    lo, hi = width * 0.5, width
    best = lines
    for _ in range(8):
        mid = (lo + hi) / 2
        trial = _wrap(text, font, mid)
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


def _fit_text(text: str, block: Block, width: int, height: int, scale: float) -> FittedText | None:
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
        font = _font(block.weight, best.font_size)
        best = replace(best, lines=tuple(_balanced(text, font, width, list(best.lines))))
    return best


def _try_size(text: str, block: Block, width: int, height: int, size: int) -> FittedText | None:
    font = _font(block.weight, size)
    lines = _wrap(text, font, width)
    if lines is None or not lines:
        return None
    if block.max_lines and len(lines) > block.max_lines:
        return None
    lh = _line_height(font, block.line_spacing)
    if lh * len(lines) > height:
        return None
    return FittedText(block.field, (0, 0, width, height), size, block.weight, tuple(lines), lh)


# --- planning: where everything goes ------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """A block with its final rectangle on the canvas (and its fitted text, if any)."""

    block: Block
    box: tuple[int, int, int, int]
    texts: tuple[FittedText, ...] = ()  # one for text blocks, one per item for lists
    pill_pad: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Plan:
    """Everything :func:`render` draws, computed without drawing (tests inspect it)."""

    template: Template
    size: tuple[int, int]
    scale: float
    palette: dict[str, tuple[int, int, int]]
    branding: Branding
    header: FittedText
    header_box: tuple[int, int, int, int]
    footer: FittedText | None
    footer_box: tuple[int, int, int, int] | None
    blocks: tuple[Placed, ...]
    fields: dict[str, str] = field(default_factory=dict)


def _parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, str):
        if size in SIZES:
            return SIZES[size]
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", size)
        if not m:
            raise ValidationError("size_format", field="size", size=size, named=list(SIZES))
        w, h = int(m[1]), int(m[2])
    else:
        w, h = (int(v) for v in size)
    if not (_MIN_SIDE <= w <= _MAX_SIDE and _MIN_SIDE <= h <= _MAX_SIDE):
        raise ValidationError(
            "size_range", field="size", width=w, height=h, min=_MIN_SIDE, max=_MAX_SIDE
        )
    if not 0.5 <= w / h <= 2.2:
        raise ValidationError("size_ratio", field="size", width=w, height=h)
    return w, h


def _clean(value: str) -> str:
    """NFC, trimmed, runs of spaces collapsed; explicit line breaks are kept."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\\n", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def _check_fields(template: Template, fields: Mapping[str, str]) -> dict[str, str]:
    known = template.fields
    for name in fields:
        if name not in known:
            raise ValidationError(
                "template_field_unknown",
                field=f"fields.{name}",
                template=template.info.name,
                known=list(known),
            )
    values: dict[str, str] = {}
    for name, spec in known.items():
        value = _clean(fields[name]) if name in fields else spec.default
        if not spec.multiline:
            value = " ".join(value.split("\n"))
        if spec.required and not value:
            raise ValidationError(
                "template_field_required",
                field=f"fields.{name}",
                template=template.info.name,
                label=spec.label,
            )
        if len(value) > spec.max_chars:
            raise ValidationError(
                "template_field_long", field=f"fields.{name}", n=len(value), limit=spec.max_chars
            )
        values[name] = value
    return values


def plan(
    template: str,
    fields: Mapping[str, str],
    *,
    size: str | tuple[int, int] = DEFAULT_SIZE,
    branding: Branding | None = None,
    image: Path | None = None,
) -> Plan:
    """Validate the inputs and lay the card out (fonts chosen, lines wrapped), without drawing."""
    tpl = _template(template)
    values = _check_fields(tpl, fields)
    if tpl.info.image == "required" and image is None:
        raise ValidationError("template_needs_photo", field="image", template=template)
    if tpl.info.image == "none" and image is not None:
        raise ValidationError("template_no_photo", field="image", template=template)
    branding = branding or Branding()
    palette = _palette(branding)
    w, h = _parse_size(size)
    short = min(w, h)
    scale = short / _REF
    margin = round(0.065 * short)

    # Header band: logo + office name on one line.
    header_h = round(0.115 * short)
    logo_d = round(header_h * 0.72)
    name_x = margin + logo_d + round(0.3 * logo_d)
    office = _clean(branding.office_name).upper() or " "
    header_block = Block(kind="text", field="office_name", weight="bold", size=(18, 38))
    header = _fit_text(office, header_block, w - name_x - margin, round(header_h * 0.6), scale)
    if header is None:
        raise ValidationError("office_name_long", field="branding.office_name")
    stripe = max(4, round(0.009 * short))
    top = header_h + stripe

    footer = footer_box = None
    bottom = h
    footer_text = values.get(tpl.footer_field, "") if tpl.footer_field else ""
    if footer_text:
        footer_h = round(0.085 * short)
        footer_block = Block(kind="text", field=tpl.footer_field, weight="bold", size=(16, 30))
        footer = _fit_text(footer_text, footer_block, w - 2 * margin, round(footer_h * 0.62), scale)
        if footer is None:
            raise ValidationError("footer_long", field=f"fields.{tpl.footer_field}")
        footer_box = (0, h - footer_h, w, h)
        bottom = h - footer_h
    if tpl.hazard:
        bottom -= round(0.03 * short)

    layout = tpl.landscape if w / h >= _LANDSCAPE_RATIO else tpl.portrait
    area = (margin, top + round(margin * 0.8), w - margin, bottom - round(margin * 0.8))
    placed = _place_columns(tpl, layout, values, area, scale, image)
    return Plan(
        template=tpl,
        size=(w, h),
        scale=scale,
        palette=palette,
        branding=branding,
        header=replace(header, box=(name_x, 0, w - margin, header_h)),
        header_box=(0, 0, w, header_h),
        footer=footer,
        footer_box=footer_box,
        blocks=tuple(placed),
        fields=values,
    )


def _place_columns(
    tpl: Template,
    layout: Layout,
    values: Mapping[str, str],
    area: tuple[int, int, int, int],
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
        placed.extend(_stack(tpl, blocks, values, (x, y0, x + cw, y1), scale, layout.valign))
        x += cw + col_gap
    return placed


def _present(block: Block, values: Mapping[str, str], image: Path | None) -> bool:
    if block.kind == "text":
        return bool(values.get(block.field))
    if block.kind == "list":
        return any(v for k, v in values.items() if _is_item(k, block.field))
    if block.kind == "image":
        return image is not None
    return True


def _is_item(name: str, prefix: str) -> bool:
    return name.startswith(prefix) and name[len(prefix) :].isdigit()


def _stack(
    tpl: Template,
    blocks: Sequence[Block],
    values: Mapping[str, str],
    col: tuple[int, int, int, int],
    scale: float,
    valign: float,
) -> list[Placed]:
    """Fit blocks top to bottom in a column, then centre the whole stack vertically."""
    x0, y0, x1, y1 = col
    width = x1 - x0
    gaps = [round(b.gap * scale) if i else 0 for i, b in enumerate(blocks)]
    free = (y1 - y0) - sum(gaps)
    # Blocks absent from this card leave their share to the flexible ones still present.
    flex = [b for b in blocks if b.kind in ("text", "list")]
    fixed_share = sum(b.height for b in blocks if b not in flex)
    declared = sum(b.height for b in flex)
    stretch = 1.0
    if declared and declared + fixed_share < 1.0:
        stretch = min((1.0 - fixed_share) / declared, 1.6)

    Sized = tuple[Block, int, tuple[FittedText, ...], tuple[int, int]]

    def fit(block: Block, max_h: int) -> Sized:
        bw = round(width * block.width)
        if block.kind == "text":
            fitted, pad = _fit_block_text(values[block.field], block, bw, max_h, scale)
            return (block, fitted.height + 2 * pad[1], (fitted,), pad)
        if block.kind == "list":
            items, used = _fit_list(values, block, bw, max_h, scale)
            return (block, used, items, (0, 0))
        if block.kind == "rule":
            return (block, max(3, round(6 * scale)), (), (0, 0))
        return (block, max_h, (), (0, 0))  # icon, image, spacer take their whole share

    limits = [int(free * b.height * (stretch if b in flex else 1.0)) for b in blocks]
    sized: list[Sized | None] = []
    failed: list[tuple[int, ValidationError]] = []
    for i, block in enumerate(blocks):
        try:
            sized.append(fit(block, limits[i]))
        except ValidationError as e:
            sized.append(None)
            failed.append((i, e))
    # Second chance for what did not fit its share: room the others left unused.
    slack = free - sum(s[1] for s in sized if s) - sum(limits[i] for i, _ in failed)
    for i, error in failed:
        if slack <= 0:
            raise error
        try:
            sized[i] = fit(blocks[i], limits[i] + slack)
        except ValidationError:
            raise error from None
        slack -= sized[i][1] - limits[i]  # type: ignore[index]
    if not any(b.kind == "image" for b in blocks):
        # Then let text grow into the room left (largest blocks first: a dense list gains
        # most). A photo column keeps that room for the photo instead.
        slack = free - sum(s[1] for s in sized if s)
        for i in sorted(range(len(blocks)), key=lambda i: -blocks[i].height):
            current = sized[i]
            if slack <= 0 or current is None or blocks[i].kind not in ("text", "list"):
                continue
            grown = fit(blocks[i], current[1] + slack)
            slack -= grown[1] - current[1]
            sized[i] = grown

    # Every block has been fitted by now (a failure raised above).
    fitted: list[Sized] = [s for s in sized if s is not None]
    assert len(fitted) == len(sized)
    total = sum(used for _, used, _, _ in fitted) + sum(gaps)
    images = [i for i, (b, _, _, _) in enumerate(fitted) if b.kind == "image"]
    if images and total < y1 - y0:
        # A photo takes whatever the text leaves, so the card never has an empty band.
        i = images[0]
        b, used, texts, pad = fitted[i]
        fitted[i] = (b, used + (y1 - y0) - total, texts, pad)
        total = y1 - y0
    y = y0 + round(((y1 - y0) - total) * valign)
    placed: list[Placed] = []
    for (block, used, texts, pad), gap in zip(fitted, gaps, strict=True):
        y += gap
        bw = round(width * block.width)
        bx = x0 + (width - bw) // 2 if block.align == "center" else x0
        box = (bx, y, bx + bw, y + used)
        if block.kind == "text" and block.pill:
            # The pill hugs its text; align decides where it sits.
            t = texts[0]
            tw = max(math.ceil(_font(t.weight, t.font_size).getlength(line)) for line in t.lines)
            pw = tw + 2 * pad[0]
            px = x0 + (width - pw) // 2 if block.align == "center" else x0
            box = (px, y, px + pw, y + used)
        if block.kind == "text":
            t = texts[0]
            texts = (
                replace(
                    t, box=(box[0] + pad[0], box[1] + pad[1], box[2] - pad[0], box[3] - pad[1])
                ),
            )
        elif block.kind == "list":
            texts = _place_items(texts, box, round(block.gap * scale * _LIST_GAP))
        placed.append(Placed(block, box, texts, pad))
        y += used
    return placed


def _fit_block_text(
    text: str, block: Block, width: int, height: int, scale: float
) -> tuple[FittedText, tuple[int, int]]:
    if block.uppercase:
        text = text.upper()
    pad = (0, 0)
    if block.pill:
        # Padding is relative to the font size actually chosen; reserve for the largest.
        pad = (round(block.size[1] * scale * 0.55), round(block.size[1] * scale * 0.18))
    fitted = _fit_text(text, block, width - 2 * pad[0], height - 2 * pad[1], scale)
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


def _fit_list(
    values: Mapping[str, str], block: Block, width: int, height: int, scale: float
) -> tuple[tuple[FittedText, ...], int]:
    """One font size for every item (a list with mixed sizes looks broken)."""
    items = [(k, v) for k, v in values.items() if _is_item(k, block.field) and v]
    lo = max(8, round(block.size[0] * scale))
    hi = max(lo, round(block.size[1] * scale))
    gap = round(block.gap * scale * _LIST_GAP)

    def attempt(size: int) -> tuple[tuple[FittedText, ...], int] | None:
        font = _font(block.weight, size)
        lh = _line_height(font, block.line_spacing)
        badge = _badge_size(lh)
        text_w = width - badge - round(badge * 0.45)
        out = []
        for name, text in items:
            lines = _wrap(text, font, text_w)
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
                _balanced(texts[t.field], _font(t.weight, t.font_size), t.box[2], list(t.lines))
            ),
        )
        for t in fitted
    )
    return balanced, used


def _badge_size(line_height: int) -> int:
    return round(line_height * 1.05)


def _place_items(
    items: tuple[FittedText, ...], box: tuple[int, int, int, int], gap: int
) -> tuple[FittedText, ...]:
    """Give each list item its own box: right of its number badge, one under the other."""
    x0, y, x1, _ = box
    placed = []
    for t in items:
        badge = _badge_size(t.line_height)
        row_h = max(t.height, badge)
        placed.append(replace(t, box=(x0 + badge + round(badge * 0.45), y, x1, y + row_h)))
        y += row_h + gap
    return tuple(placed)


# --- drawing -----------------------------------------------------------------------------


def render(
    template: str,
    fields: Mapping[str, str],
    *,
    size: str | tuple[int, int] = DEFAULT_SIZE,
    branding: Branding | None = None,
    image: Path | None = None,
) -> Image.Image:
    """Render a template to an RGB image.

    ``fields`` maps field names to text (NFC-normalised here); ``size`` is a name from
    :data:`SIZES` or ``(width, height)``; ``image`` is a photo file for templates that take
    one. Raises :class:`ValidationError` naming the template, field, size or image at fault.
    """
    p = plan(template, fields, size=size, branding=branding, image=image)
    photo = _load_photo(image) if image is not None else None
    return _draw(p, photo)


def encode_for_channel(img: Image.Image, kind: str) -> tuple[bytes, str]:
    """Encode a rendered card for channel ``kind``: ``(bytes, mime)`` within its byte limit.

    Facebook gets PNG (crisp text) unless that is over 1 MB, then JPEG; Zalo OA gets JPEG
    under 1 MB (it recompresses PNG covers, and JPEG keeps well under the limit).
    """
    return media.encode_to_fit(img, kind, prefer_png=kind == "facebook")


def _draw(p: Plan, photo: Image.Image | None) -> Image.Image:
    pal = p.palette
    w, h = p.size
    bg = _colour(p.template.background, pal)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    short = min(w, h)

    _draw_header(img, d, p)
    if p.footer is not None and p.footer_box is not None:
        d.rectangle(p.footer_box, fill=pal["primary_dark"])
        fx0, fy0, fx1, fy1 = p.footer_box
        _draw_lines(
            d,
            p.footer,
            _on(pal["primary_dark"], pal),
            "center",
            ((fx0 + fx1) // 2, (fy0 + fy1 - p.footer.height) // 2),
        )
    if p.template.hazard:
        fy = p.footer_box[1] if p.footer_box else h
        _draw_hazard(img, (0, fy - round(0.03 * short), w, fy), pal)

    for placed in p.blocks:
        kind = placed.block.kind
        if kind == "text":
            _draw_text_block(d, placed, pal)
        elif kind == "list":
            _draw_list(d, placed, pal)
        elif kind == "icon":
            _draw_icon(img, placed, pal)
        elif kind == "rule":
            x0, y0, x1, y1 = placed.box
            rw = round((x1 - x0) * 0.18) if placed.block.width == 1.0 else x1 - x0
            rx = x0 if placed.block.align != "center" else (x0 + x1 - rw) // 2
            d.rounded_rectangle(
                (rx, y0, rx + rw, y1), radius=(y1 - y0) // 2, fill=_colour(placed.block.color, pal)
            )
        elif kind == "image" and photo is not None:
            _draw_photo(img, placed.box, photo, round(18 * p.scale))
    return img


def _colour(role: str, pal: Mapping[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    if role in pal:
        return pal[role]
    return _rgb(role, field_name="template colour")


def _draw_header(img: Image.Image, d: ImageDraw.ImageDraw, p: Plan) -> None:
    pal = p.palette
    w, _ = p.size
    x0, y0, x1, y1 = p.header_box
    d.rectangle(p.header_box, fill=pal["primary"])
    stripe = max(4, round(0.009 * min(p.size)))
    d.rectangle((0, y1, w, y1 + stripe), fill=pal["accent"])
    margin = round(0.065 * min(p.size))
    logo_d = round((y1 - y0) * 0.72)
    ly = (y1 - y0 - logo_d) // 2
    _draw_logo(img, (margin, ly, margin + logo_d, ly + logo_d), p.branding, pal)
    hx0, _, _, _ = p.header.box
    _draw_lines(
        d, p.header, _on(pal["primary"], pal), "left", (hx0, (y1 - y0 - p.header.height) // 2)
    )


def _draw_logo(img: Image.Image, box: tuple[int, int, int, int], branding: Branding, pal) -> None:
    x0, y0, x1, y1 = box
    dsize = x1 - x0
    d = ImageDraw.Draw(img)
    if branding.logo_path is None:
        # Default emblem: a gold disc with a five-pointed star in the primary colour.
        d.ellipse(box, fill=pal["accent"])
        _star(d, ((x0 + x1) / 2, (y0 + y1) / 2), dsize * 0.36, pal["primary"])
        return
    path = Path(branding.logo_path)
    try:
        mtime = path.stat().st_mtime_ns  # part of the cache key: a replaced logo is reread
    except OSError as e:
        raise ValidationError(
            "logo_unreadable", field="branding.logo_path", path=str(path), reason=os_reason(e)
        ) from None
    logo = _load_logo(str(path), dsize, mtime)
    # A white disc behind the logo keeps any logo readable on any primary colour.
    d.ellipse(box, fill=pal["white"])
    inner = logo.size
    img.paste(logo, (x0 + (dsize - inner[0]) // 2, y0 + (dsize - inner[1]) // 2), logo)


def _star(d: ImageDraw.ImageDraw, centre: tuple[float, float], r: float, fill) -> None:
    cx, cy = centre
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.4
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    d.polygon(pts, fill=fill)


@lru_cache(maxsize=16)
def _load_logo(path: str, diameter: int, mtime: int) -> Image.Image:
    try:
        with Image.open(path) as src:
            logo = ImageOps.exif_transpose(src).convert("RGBA")
    except (OSError, ValueError) as e:
        raise ValidationError(
            "logo_unreadable", field="branding.logo_path", path=path, reason=os_reason(e)
        ) from None
    inner = round(diameter * 0.78)  # stays inside the disc, also for square logos
    return ImageOps.contain(logo, (inner, inner), Image.Resampling.LANCZOS)


def _load_photo(path: Path) -> Image.Image:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ValidationError(
            "file_unreadable", field="image", path=str(path), reason=os_reason(e)
        ) from None
    media.inspect_image(data, name=str(path))
    with Image.open(io.BytesIO(data)) as src:
        return ImageOps.exif_transpose(src).convert("RGB")


def _draw_photo(img: Image.Image, box, photo: Image.Image, radius: int) -> None:
    x0, y0, x1, y1 = box
    size = (x1 - x0, y1 - y0)
    fitted = ImageOps.fit(photo, size, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius, fill=255)
    img.paste(fitted, (x0, y0), mask)


def _draw_lines(d: ImageDraw.ImageDraw, t: FittedText, fill, align: str, origin) -> None:
    """Draw fitted lines from ``origin`` (left x or centre x, top y), ascender-anchored."""
    font = _font(t.weight, t.font_size)
    x, y = origin
    anchor = "ma" if align == "center" else "la"
    for i, line in enumerate(t.lines):
        d.text((x, y + i * t.line_height), line, font=font, fill=fill, anchor=anchor)


def _draw_text_block(d: ImageDraw.ImageDraw, placed: Placed, pal) -> None:
    block, t = placed.block, placed.texts[0]
    colour = _colour(block.color, pal)
    if block.pill:
        pill = _colour(block.pill, pal)
        d.rounded_rectangle(placed.box, radius=(placed.box[3] - placed.box[1]) // 2, fill=pill)
        colour = _on(pill, pal)
    x0, y0, x1, _ = t.box
    x = (x0 + x1) // 2 if block.align == "center" else x0
    _draw_lines(d, t, colour, block.align, (x, y0))


def _draw_list(d: ImageDraw.ImageDraw, placed: Placed, pal) -> None:
    badge_fill = _colour(placed.block.pill or "primary", pal)
    x0 = placed.box[0]
    for n, t in enumerate(placed.texts, start=1):
        badge = _badge_size(t.line_height)
        font = _font("bold", max(8, round(t.font_size * 0.95)))
        tx0, y, _, _ = t.box
        cy = y + t.line_height // 2  # the badge centres on the item's first line
        d.ellipse((x0, cy - badge // 2, x0 + badge, cy - badge // 2 + badge), fill=badge_fill)
        d.text((x0 + badge / 2, cy), str(n), font=font, fill=_on(badge_fill, pal), anchor="mm")
        _draw_lines(d, t, _colour(placed.block.color, pal), "left", (tx0, y))


def _draw_icon(img: Image.Image, placed: Placed, pal) -> None:
    x0, y0, x1, y1 = placed.box
    s = min(x1 - x0, y1 - y0)
    cx = (x0 + x1) / 2 if placed.block.align == "center" else x0 + s / 2
    cy = (y0 + y1) / 2
    d = ImageDraw.Draw(img)
    colour = _colour(placed.block.color, pal)
    name = placed.block.icon
    if name == "warning":
        _icon_warning(d, cx, cy, s, colour, pal)
    elif name == "phone":
        _icon_phone(d, cx, cy, s, colour, pal)
    elif name == "quote":
        mask = _glyph_mask("\u201c", max(8, round(s * 2.4)))
        img.paste(colour, (round(cx - mask.width / 2), round(cy - mask.height / 2)), mask)
    else:
        raise ValueError(f"unknown icon {name!r}")


@lru_cache(maxsize=32)
def _glyph_mask(char: str, size: int) -> Image.Image:
    """The glyph's ink only, as a mask: font bboxes include the ascent, so centring on them
    puts a high glyph such as a quotation mark visibly off-centre."""
    font = _font("bold", size)
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 2), char, font=font, fill=255)
    bbox = canvas.getbbox()
    return canvas.crop(bbox) if bbox else canvas


def _icon_warning(d, cx: float, cy: float, s: float, colour, pal) -> None:
    h = s * 0.86
    w = h * 1.15
    top, bottom = cy - h / 2, cy + h / 2
    tri = [(cx, top), (cx + w / 2, bottom), (cx - w / 2, bottom)]
    border = max(3, round(h * 0.085))
    d.polygon(tri, fill=colour)
    # A thick outline with curved joints gives the road-sign look with rounded corners.
    d.line([*tri, tri[0], tri[1]], fill=pal["ink"], width=border, joint="curve")
    bar_w = h * 0.1
    d.rounded_rectangle(
        (cx - bar_w / 2, top + h * 0.32, cx + bar_w / 2, top + h * 0.68),
        radius=bar_w / 2,
        fill=pal["ink"],
    )
    dot = bar_w * 1.15
    d.ellipse((cx - dot / 2, top + h * 0.75, cx + dot / 2, top + h * 0.75 + dot), fill=pal["ink"])


def _icon_phone(d, cx: float, cy: float, s: float, colour, pal) -> None:
    d.ellipse((cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2), fill=colour)
    ink = _on(colour, pal)
    pw, ph = s * 0.34, s * 0.56
    body = (cx - pw / 2, cy - ph / 2, cx + pw / 2, cy + ph / 2)
    d.rounded_rectangle(body, radius=pw * 0.18, outline=ink, width=max(2, round(s * 0.045)))
    d.rounded_rectangle(
        (cx - pw * 0.18, body[1] + ph * 0.08, cx + pw * 0.18, body[1] + ph * 0.08 + s * 0.025),
        radius=s * 0.012,
        fill=ink,
    )
    r = s * 0.03
    d.ellipse((cx - r, body[3] - ph * 0.13 - r, cx + r, body[3] - ph * 0.13 + r), fill=ink)


def _draw_hazard(img: Image.Image, box, pal) -> None:
    """Diagonal warning stripes (accent and ink) across ``box``."""
    x0, y0, x1, y1 = box
    band = Image.new("RGB", (x1 - x0, y1 - y0), pal["accent"])
    d = ImageDraw.Draw(band)
    hgt = y1 - y0
    step = hgt * 2
    for x in range(-hgt, x1 - x0 + hgt, step):
        d.polygon([(x, hgt), (x + hgt, 0), (x + 2 * hgt, 0), (x + hgt, hgt)], fill=pal["ink"])
    img.paste(band, (x0, y0))
