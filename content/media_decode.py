"""Decoding a big image small: the first frame reduced while it is decoded, never at full size.

Why (memory) and when it is used: :mod:`content.media`'s docstring. JPEGs are decoded at a
reduced scale by libjpeg itself; non-interlaced 8-bit PNGs band by band, each band reduced
before the next is inflated; the rest whole, then box-reduced.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable

from PIL import Image

EXIF_ORIENTATION = 0x0112


def decode_reduced(src: Image.Image, data: bytes, max_side: int) -> tuple[Image.Image, int]:
    """Decode the first frame as RGB/RGBA, reduced but still at least ``max_side`` long.

    Returns the image (not yet upright, no metadata guaranteed) and the EXIF orientation.
    An image already within ``max_side`` is decoded as it is.
    """
    width, height = src.size
    if src.format in ("JPEG", "MPO") and max(width, height) > max_side:
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale directly: the full-size pixels never
        # exist. Pillow picks the smallest scale that still covers the requested size.
        scale = max_side / max(width, height)
        src.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
    factor = max(1, max(src.size) // max_side)
    if src.format == "PNG" and factor > 1 and getattr(src, "n_frames", 1) == 1:
        banded = png_bands_reduced(data, factor)
        if banded is not None:
            return banded
    src.load()
    orientation = int(src.getexif().get(EXIF_ORIENTATION, 1) or 1)
    im = to_encodable(src)
    if factor > 1:
        # Box-reduce by a whole factor first: cheap, and the LANCZOS resize that follows
        # then works on a small image (what Pillow's reducing_gap does).
        im = im.reduce(factor)
    return im, orientation


def to_encodable(im: Image.Image) -> Image.Image:
    """RGB, or RGBA when there is transparency (kept for PNG, flattened for JPEG)."""
    if im.mode in ("RGB", "RGBA"):
        return im
    has_alpha = im.mode in ("LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if im.mode == "L":
        return im.convert("RGB")
    return im.convert("RGBA" if has_alpha else "RGB")


# --- PNG in bands ----------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_PNG_BAND_BYTES = 8_000_000
"""Decoded bytes per band: what a big PNG costs at most beyond its reduced result."""


def png_bands_reduced(data: bytes, factor: int) -> tuple[Image.Image, int] | None:
    """Decode a PNG band by band, each reduced ``factor`` times; None if it cannot be banded.

    A PNG is one zlib stream of filtered rows, and a row's filter only looks at the row
    above. Each band of rows is inflated from the stream and wrapped in a small PNG of its
    own whose first row is the previous band's last row, unfiltered (filter type 0), so
    Pillow's own decoder unfilters it exactly. Bands are a multiple of ``factor`` rows, so
    reducing band by band gives the same pixels as reducing the whole image. Only 8-bit,
    non-interlaced PNGs qualify (a row of another depth cannot be packed back exactly);
    the rest are decoded whole.
    """
    chunks = _png_chunks(data)
    header = chunks.get(b"IHDR")
    if header is None or len(header[0]) != 13:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[0])
    if depth != 8 or interlace != 0 or colour not in _PNG_CHANNELS or b"IDAT" not in chunks:
        return None
    stride = width * _PNG_CHANNELS[colour]
    band_rows = max(factor, _PNG_BAND_BYTES // stride // factor * factor)
    extra = b"".join(
        _png_chunk(kind, chunks[kind][0]) for kind in (b"PLTE", b"tRNS") if kind in chunks
    )
    rows_in = _png_rows(chunks[b"IDAT"], stride + 1)
    out: Image.Image | None = None
    previous: bytes | None = None
    for top in range(0, height, band_rows):
        rows = min(band_rows, height - top)
        filtered = rows_in(rows)
        # The previous band's last row, raw (filter type 0), gives "Up", "Average" and
        # "Paeth" rows of this band the row above them.
        context = b"" if previous is None else b"\x00" + previous
        skip = 1 if context else 0
        ihdr = struct.pack(">IIBBBBB", width, rows + skip, 8, colour, 0, 0, 0)
        mini = (
            _PNG_SIGNATURE
            + _png_chunk(b"IHDR", ihdr)
            + extra
            + _png_chunk(b"IDAT", zlib.compress(context + filtered, 1))
            + _png_chunk(b"IEND", b"")
        )
        del filtered
        with Image.open(io.BytesIO(mini)) as band:
            band.load()
            previous = band.crop((0, skip + rows - 1, width, skip + rows)).tobytes()
            if len(previous) != stride:  # not the PNG row layout: give up banding
                return None
            piece = to_encodable(band.crop((0, skip, width, skip + rows)) if skip else band)
        piece = piece.reduce(factor)
        if out is None:
            out = Image.new(piece.mode, (math.ceil(width / factor), math.ceil(height / factor)))
        out.paste(piece, (0, top // factor))
    assert out is not None
    orientation = 1
    if b"eXIf" in chunks:
        exif = Image.Exif()
        exif.load(bytes(chunks[b"eXIf"][0]))
        orientation = int(exif.get(EXIF_ORIENTATION, 1) or 1)
    return out, orientation


def _png_chunks(data: bytes) -> dict[bytes, list[memoryview]]:
    """Every chunk's body by type (views into ``data``, no copies); ValueError if cut."""
    view = memoryview(data)
    if bytes(view[:8]) != _PNG_SIGNATURE:
        raise ValueError("not a PNG")
    chunks: dict[bytes, list[memoryview]] = {}
    pos = 8
    while pos + 8 <= len(view):
        length, kind = struct.unpack(">I4s", view[pos : pos + 8])
        body = view[pos + 8 : pos + 8 + length]
        if len(body) < length:
            raise ValueError("truncated PNG chunk")
        chunks.setdefault(kind, []).append(body)
        pos += 12 + length
        if kind == b"IEND":
            return chunks
    raise ValueError("truncated PNG (no IEND chunk)")


def _png_chunk(kind: bytes, body: bytes | memoryview) -> bytes:
    body = bytes(body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_rows(idats: list[memoryview], row_bytes: int) -> Callable[[int], bytes]:
    """A reader of the next ``n`` filtered rows from the IDAT zlib stream, bounded in memory."""
    inflater = zlib.decompressobj()
    parts = iter(idats)
    pending = bytearray()

    def read(n: int) -> bytes:
        need = n * row_bytes
        while len(pending) < need:
            source: bytes | memoryview | None = inflater.unconsumed_tail or next(parts, None)
            if source is None or inflater.eof:
                raise ValueError("image file is truncated (PNG data ends early)")
            # max_length keeps the inflated output to what this band needs.
            pending.extend(inflater.decompress(source, need - len(pending)))
        rows = bytes(pending[:need])
        del pending[:need]
        return rows

    return read
