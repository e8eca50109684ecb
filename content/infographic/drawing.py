"""Drawing: a laid-out :class:`Plan` painted with Pillow, and the card encoded per channel.

Every decision about sizes and positions was made in :mod:`.layout`; what is left here is
the frame (header band with the logo, accent stripe, footer band, hazard stripes), the
blocks, the icons, and the photo cropped into its box.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from content import media
from content.errors import ValidationError
from content.infographic.fitting import FittedText, badge_size, font
from content.infographic.layout import Box, Placed, Plan, plan
from content.infographic.templates import DEFAULT_SIZE, RGB, Branding, rgb
from content.messages import os_reason

Palette = Mapping[str, RGB]


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
    """Paint the frame first, then each placed block over the background."""
    pal = p.palette
    img = Image.new("RGB", p.size, _colour(p.template.background, pal))
    d = ImageDraw.Draw(img)
    _draw_header(img, d, p)
    _draw_footer(img, d, p)
    for placed in p.blocks:
        kind = placed.block.kind
        if kind == "text":
            _draw_text_block(d, placed, pal)
        elif kind == "list":
            _draw_list(d, placed, pal)
        elif kind == "icon":
            _draw_icon(img, placed, pal)
        elif kind == "rule":
            _draw_rule(d, placed, pal)
        elif kind == "image" and photo is not None:
            _draw_photo(img, placed.box, photo, round(18 * p.scale))
    return img


def _draw_footer(img: Image.Image, d: ImageDraw.ImageDraw, p: Plan) -> None:
    """The footer band with its line of text, and the hazard stripes above where it is."""
    pal = p.palette
    w, h = p.size
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
        _draw_hazard(img, (0, fy - round(0.03 * min(w, h)), w, fy), pal)


def _draw_rule(d: ImageDraw.ImageDraw, placed: Placed, pal: Palette) -> None:
    """A rounded bar: a short accent (18% of the column) unless the block sets a width."""
    x0, y0, x1, y1 = placed.box
    rw = round((x1 - x0) * 0.18) if placed.block.width == 1.0 else x1 - x0
    rx = x0 if placed.block.align != "center" else (x0 + x1 - rw) // 2
    d.rounded_rectangle(
        (rx, y0, rx + rw, y1), radius=(y1 - y0) // 2, fill=_colour(placed.block.color, pal)
    )


def _colour(role: str, pal: Palette) -> RGB:
    """A colour role from the palette, or a literal colour a template wrote."""
    if role in pal:
        return pal[role]
    return rgb(role, field_name="template colour")


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


def _draw_logo(
    img: Image.Image, box: tuple[int, int, int, int], branding: Branding, pal: Palette
) -> None:
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


def _star(d: ImageDraw.ImageDraw, centre: tuple[float, float], r: float, fill: RGB) -> None:
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


def _draw_photo(img: Image.Image, box: Box, photo: Image.Image, radius: int) -> None:
    x0, y0, x1, y1 = box
    size = (x1 - x0, y1 - y0)
    fitted = ImageOps.fit(photo, size, Image.Resampling.LANCZOS, centering=(0.5, 0.4))
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius, fill=255)
    img.paste(fitted, (x0, y0), mask)


def _draw_lines(
    d: ImageDraw.ImageDraw, t: FittedText, fill: RGB, align: str, origin: tuple[int, int]
) -> None:
    """Draw fitted lines from ``origin`` (left x or centre x, top y), ascender-anchored."""
    face = font(t.weight, t.font_size)
    x, y = origin
    anchor = "ma" if align == "center" else "la"
    for i, line in enumerate(t.lines):
        d.text((x, y + i * t.line_height), line, font=face, fill=fill, anchor=anchor)


def _draw_text_block(d: ImageDraw.ImageDraw, placed: Placed, pal: Palette) -> None:
    block, t = placed.block, placed.texts[0]
    colour = _colour(block.color, pal)
    if block.pill:
        pill = _colour(block.pill, pal)
        d.rounded_rectangle(placed.box, radius=(placed.box[3] - placed.box[1]) // 2, fill=pill)
        colour = _on(pill, pal)
    x0, y0, x1, _ = t.box
    x = (x0 + x1) // 2 if block.align == "center" else x0
    _draw_lines(d, t, colour, block.align, (x, y0))


def _draw_list(d: ImageDraw.ImageDraw, placed: Placed, pal: Palette) -> None:
    badge_fill = _colour(placed.block.pill or "primary", pal)
    x0 = placed.box[0]
    for n, t in enumerate(placed.texts, start=1):
        badge = badge_size(t.line_height)
        face = font("bold", max(8, round(t.font_size * 0.95)))
        tx0, y, _, _ = t.box
        cy = y + t.line_height // 2  # the badge centres on the item's first line
        d.ellipse((x0, cy - badge // 2, x0 + badge, cy - badge // 2 + badge), fill=badge_fill)
        d.text((x0 + badge / 2, cy), str(n), font=face, fill=_on(badge_fill, pal), anchor="mm")
        _draw_lines(d, t, _colour(placed.block.color, pal), "left", (tx0, y))


def _draw_icon(img: Image.Image, placed: Placed, pal: Palette) -> None:
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
    face = font("bold", size)
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 2), char, font=face, fill=255)
    bbox = canvas.getbbox()
    return canvas.crop(bbox) if bbox else canvas


def _icon_warning(
    d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, colour: RGB, pal: Palette
) -> None:
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


def _icon_phone(
    d: ImageDraw.ImageDraw, cx: float, cy: float, s: float, colour: RGB, pal: Palette
) -> None:
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


def _draw_hazard(img: Image.Image, box: Box, pal: Palette) -> None:
    """Diagonal warning stripes (accent and ink) across ``box``."""
    x0, y0, x1, y1 = box
    band = Image.new("RGB", (x1 - x0, y1 - y0), pal["accent"])
    d = ImageDraw.Draw(band)
    hgt = y1 - y0
    step = hgt * 2
    for x in range(-hgt, x1 - x0 + hgt, step):
        d.polygon([(x, hgt), (x + hgt, 0), (x + 2 * hgt, 0), (x + hgt, hgt)], fill=pal["ink"])
    img.paste(band, (x0, y0))


def _luminance(c: RGB) -> float:
    def lin(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(v) for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _on(colour: RGB, pal: Palette) -> RGB:
    """Ink or white, whichever reads better on ``colour``."""
    return pal["ink"] if _luminance(colour) > 0.4 else pal["white"]
