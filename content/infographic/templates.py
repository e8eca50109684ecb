"""Infographic templates and the validation of what a card is asked to show.

The declarative templates (content/templates/*.toml), the office's branding and colours,
the canvas sizes, and the checks on fields, size and photo: everything here either reads
a template or refuses an input with a :class:`ValidationError` naming the field.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageColor

from content.errors import ValidationError

_CONTENT = Path(__file__).parent.parent  # content/: the templates and samples live there
TEMPLATE_DIR = _CONTENT / "templates"

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

RGB = tuple[int, int, int]


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


def rgb(value: str, *, field_name: str) -> RGB:
    """``value`` (a CSS colour) as RGB; a :class:`ValidationError` on ``field_name`` if bad."""
    try:
        r, g, b, *_ = ImageColor.getrgb(value)
    except ValueError:
        raise ValidationError("colour_bad", field=field_name, value=value) from None
    return r, g, b


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    r, g, bb = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return r, g, bb


def palette(branding: Branding) -> dict[str, RGB]:
    """Every colour role a template may name, the office's two and shades of them included."""
    colours = {k: rgb(v, field_name="colour") for k, v in _FIXED_COLOURS.items()}
    primary = rgb(branding.primary, field_name="branding.primary")
    accent = rgb(branding.accent, field_name="branding.accent")
    colours["primary"] = primary
    colours["accent"] = accent
    colours["primary_dark"] = _mix(primary, (0, 0, 0), 0.35)
    colours["primary_soft"] = _mix(primary, (255, 255, 255), 0.88)
    colours["accent_soft"] = _mix(accent, (255, 255, 255), 0.8)
    return colours


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
    """The blocks of one canvas shape, their columns and how the stack sits vertically."""

    columns: tuple[float, ...]
    blocks: tuple[Block, ...]
    valign: float  # 0 top, 0.5 centre


@dataclass(frozen=True)
class Template:
    """One parsed template file: its public description and its two layouts."""

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
    path = _CONTENT.resolve() / "samples" / "infographic_fields.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def list_templates() -> list[TemplateInfo]:
    """Every bundled template, in file-name order."""
    return [t.info for t in _templates().values()]


def template_named(name: str) -> Template:
    """The bundled template ``name``; a :class:`ValidationError` listing the known ones."""
    try:
        return _templates()[name]
    except KeyError:
        raise ValidationError(
            "template_unknown", field="template", name=name, known=list(_templates())
        ) from None


def is_item(name: str, prefix: str) -> bool:
    """True when field ``name`` is one item of the list block ``prefix`` (item1, item2...)."""
    return name.startswith(prefix) and name[len(prefix) :].isdigit()


# --- validating the inputs ---------------------------------------------------------------


def parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    """A size name from :data:`SIZES`, ``"WxH"`` or ``(w, h)`` as pixels, within bounds."""
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


def clean(value: str) -> str:
    """NFC, trimmed, runs of spaces collapsed; explicit line breaks are kept."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\\n", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line).strip()


def check_fields(template: Template, fields: Mapping[str, str]) -> dict[str, str]:
    """Every field of ``template`` cleaned (defaults filled in), or the first one refused."""
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
        value = clean(fields[name]) if name in fields else spec.default
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


def check_photo(template: Template, image: Path | None) -> None:
    """Refuse a missing photo a template requires, or one it has no place for."""
    if template.info.image == "required" and image is None:
        raise ValidationError("template_needs_photo", field="image", template=template.info.name)
    if template.info.image == "none" and image is not None:
        raise ValidationError("template_no_photo", field="image", template=template.info.name)
