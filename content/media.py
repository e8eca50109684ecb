"""Image checks and re-encoding per channel limits.

Everything here works on bytes and checks images by their *content*, never by file name:
a ``.jpg`` that is really a PDF is refused, a PNG called ``photo.jpg`` is a PNG.

Privacy: officers upload phone photos that carry GPS coordinates, camera serials and
editing history. :func:`prepare_for_channel` always re-encodes from pixels, so no EXIF,
GPS, XMP, IPTC or comment block survives. An embedded ICC colour profile is *converted
away* (pixels are mapped to sRGB, then the profile is dropped): profiles can name the
device that made them, and every platform assumes sRGB anyway, so this keeps the colours
right without carrying any metadata.

Memory: a 48 MP phone photo is 144 MB decoded (194 MB with alpha), and the daemon prepares
images for several deliveries at once in worker threads. So a big image is never decoded at
full size when the channel only shows 2048 px: JPEGs are decoded at a reduced scale straight
away (libjpeg's DCT scaling via ``Image.draft``), non-interlaced 8-bit PNGs are decoded in
bands of rows, each band box-reduced (``Image.reduce``) before the next is read, and every
image above :data:`LARGE_IMAGE_PIXELS` is decoded and re-encoded on one dedicated thread,
so one at a time in the process (see :func:`_one_at_a_time`).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from PIL import Image, ImageCms, ImageSequence, UnidentifiedImageError

from content.errors import ValidationError
from content.media_decode import decode_reduced, to_encodable
from content.messages import Notice

MB = 1_000_000
"""Limits are in decimal megabytes: the platforms say "1 MB" and this is the safe reading."""

MAX_INPUT_PIXELS = 50_000_000
"""Anything larger is refused. It is below Pillow's own decompression-bomb threshold
(~89 MP warns, ~179 MP errors), so a hostile file never gets as far as being decoded."""

MAX_INPUT_SIDE = 30_000
"""Facebook's largest quoted side; longer images are strips nobody can read anyway."""

MIME: dict[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
}
"""The raster formats Loa reads. Anything else (SVG, PDF, HEIC, ICO...) is refused."""

LARGE_IMAGE_PIXELS = 4_000_000
"""Images above this many pixels are prepared one at a time in the process (see
:func:`_one_at_a_time`): even reduced, one costs tens of MB, and the daemon prepares images
for several deliveries at once. Smaller ones (a few MB decoded) go in parallel."""

_T = TypeVar("_T")
_LARGE_IMAGE_THREAD = "loa-large-image"
_large_images = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_LARGE_IMAGE_THREAD)

# Pillow reports some camera JPEGs (multi-picture stereo/depth files) as MPO; they are
# JPEG files to every platform.
_FORMAT_ALIASES = {"MPO": "JPEG"}


@dataclass(frozen=True)
class ImageInfo:
    """What :func:`inspect_image` found in the bytes."""

    format: str  # "JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"
    mime: str
    width: int
    height: int
    size_bytes: int
    frames: int = 1  # > 1 for animated GIF/WEBP


@dataclass(frozen=True)
class ImageLimits:
    """One channel kind's image rules.

    ``max_bytes`` is the hard upload limit. ``png_max_bytes`` is where PNG stops being a
    good idea (Facebook recompresses large PNGs badly; Zalo caps everything at 1 MB), so a
    larger picture is sent as JPEG. ``max_side`` is what the platform displays at most:
    bigger images are downscaled because the extra pixels only cost bytes.
    """

    label: str
    accepted_formats: frozenset[str]
    max_bytes: int
    png_max_bytes: int
    max_side: int
    max_pixels: int = MAX_INPUT_PIXELS
    max_input_side: int = MAX_INPUT_SIDE
    animated_formats: frozenset[str] = frozenset()


IMAGE_LIMITS: dict[str, ImageLimits] = {
    # Graph API photo uploads: JPEG, BMP, PNG, GIF, TIFF, "keep files under 4 MB, PNG under
    # 1 MB"; Facebook shows photos at most 2048 px wide.
    "facebook": ImageLimits(
        label="Facebook",
        accepted_formats=frozenset({"JPEG", "PNG", "GIF", "BMP", "TIFF"}),
        max_bytes=4 * MB,
        png_max_bytes=1 * MB,
        max_side=2048,
        animated_formats=frozenset({"GIF"}),
    ),
    # Zalo OA: article covers/body images and /oa/upload/image take jpg/png, each <= 1 MB.
    "zalo_oa": ImageLimits(
        label="Zalo OA",
        accepted_formats=frozenset({"JPEG", "PNG"}),
        max_bytes=1 * MB,
        png_max_bytes=1 * MB,
        max_side=2048,
    ),
}

_JPEG_MAX_QUALITY = 90
_JPEG_MIN_QUALITY = 60  # below this, blocking is visible on text and faces
_DOWNSCALE_STEP = 0.8
_MIN_SIDE = 320  # never shrink below this while trying to fit a byte limit
_SMALL_SIDE = 400  # below this a post picture looks blurry on a phone


def inspect_image(data: bytes, *, name: str = "image") -> ImageInfo:
    """Identify and sanity-check an image from its bytes.

    Every pixel is decoded once, so truncated or corrupt files are caught here rather than
    at publish time; a large JPEG or PNG is decoded reduced (see the module docstring), so
    checking a 48 MP photo costs a few MB, not hundreds. Raises :class:`ValidationError`
    naming ``name`` when the bytes are not a readable image, are in a format Loa does not
    handle, or are absurdly large.
    """
    info = _inspect_header(data, name)
    _one_at_a_time(info.width * info.height, _check_decodes, data, name)
    return info


def check_for_channel(info: ImageInfo, kind: str) -> list[str]:
    """Say what :func:`prepare_for_channel` will have to do for channel ``kind``.

    Returns human-readable warnings (empty when the image goes as it is, apart from
    metadata stripping). Raises :class:`ValidationError` when no re-encoding can make the
    image acceptable: unknown channel kind, unsupported format, absurd dimensions.
    """
    limits = limits_for(kind)
    if info.format not in MIME:
        raise ValidationError("image_format_for", format=info.format, platform=limits.label)
    _check_dimensions(info.width, info.height, name="image", limits=limits)
    warnings_: list[str] = []
    if info.format not in limits.accepted_formats:
        warnings_.append(
            Notice(
                "img_to_png_or_jpeg" if "PNG" in limits.accepted_formats else "img_to_jpeg",
                format=info.format,
                platform=limits.label,
            )
        )
    if info.frames > 1 and info.format not in limits.animated_formats:
        warnings_.append(Notice("img_first_frame", format=info.format, platform=limits.label))
    if max(info.width, info.height) > limits.max_side:
        warnings_.append(
            Notice(
                "img_resize",
                width=info.width,
                height=info.height,
                side=limits.max_side,
                platform=limits.label,
            )
        )
    if info.size_bytes > limits.max_bytes:
        warnings_.append(
            Notice(
                "img_reencode",
                size=_fmt_mb(info.size_bytes),
                platform=limits.label,
                limit=_fmt_mb(limits.max_bytes),
            )
        )
    elif info.format == "PNG" and info.size_bytes > limits.png_max_bytes:
        warnings_.append(
            Notice(
                "img_png_to_jpeg",
                size=_fmt_mb(info.size_bytes),
                limit=_fmt_mb(limits.png_max_bytes),
                platform=limits.label,
            )
        )
    if min(info.width, info.height) < _SMALL_SIDE:
        warnings_.append(
            Notice("img_small", width=info.width, height=info.height, side=_SMALL_SIDE)
        )
    return warnings_


def prepare_for_channel(data: bytes, kind: str) -> tuple[bytes, str]:
    """Return ``(bytes, mime)`` ready to upload to channel ``kind``.

    Applies the EXIF orientation, strips all metadata (see the module docstring), maps
    colours to sRGB, converts formats the channel does not take, downscales to the
    channel's display size, and re-encodes (JPEG quality steps, then smaller sizes) until
    the result fits the channel's byte limit. Raises :class:`ValidationError` when the
    input is not a usable image.

    The pixels are decoded once, already reduced towards the display size, and images above
    :data:`LARGE_IMAGE_PIXELS` are decoded one at a time in the process.
    """
    limits = limits_for(kind)
    info = _inspect_header(data, "image")
    check_for_channel(info, kind)
    return _one_at_a_time(info.width * info.height, _prepare, data, info, limits)


def encode_to_fit(im: Image.Image, kind: str, *, prefer_png: bool = True) -> tuple[bytes, str]:
    """Encode an already-clean PIL image (e.g. a rendered infographic) for ``kind``.

    PNG when preferred and it fits the channel's PNG budget, otherwise JPEG at the best
    quality (then size) that fits the byte limit.
    """
    limits = limits_for(kind)
    im = _fit_side(to_encodable(im), limits.max_side)
    return _encode_to_fit(im, limits, prefer_png=prefer_png)


def limits_for(kind: str) -> ImageLimits:
    """The :class:`ImageLimits` of a channel kind, or a ValidationError naming it."""
    try:
        return IMAGE_LIMITS[kind]
    except KeyError:
        known = sorted(IMAGE_LIMITS)
        raise ValidationError("channel_kind_unknown", kind=kind, known=known) from None


# --- internals -----------------------------------------------------------------------


@contextlib.contextmanager
def _bomb_guard() -> Iterator[None]:
    """Turn Pillow's DecompressionBombWarning into an exception inside the block.

    Loa's own pixel limit is lower than Pillow's warning threshold, so this only fires for
    hostile files; we do not change the process-wide ``Image.MAX_IMAGE_PIXELS``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _check_dimensions(
    width: int, height: int, *, name: str, limits: ImageLimits | None = None
) -> None:
    max_pixels = limits.max_pixels if limits else MAX_INPUT_PIXELS
    max_side = limits.max_input_side if limits else MAX_INPUT_SIDE
    if width < 1 or height < 1:
        raise ValidationError("image_no_pixels", name=name, width=width, height=height)
    if width * height > max_pixels or max(width, height) > max_side:
        raise ValidationError(
            "image_too_large",
            name=name,
            width=width,
            height=height,
            mp=max_pixels // 1_000_000,
            side=max_side,
        )


def _clean_pixels(src: Image.Image, data: bytes, max_side: int) -> Image.Image:
    """Upright, sRGB, metadata-free first frame in an encodable mode, at most ``max_side``.

    Reduced while decoding, then resized, *then* turned upright and colour-converted: each
    later step works on the small image.
    """
    icc = src.info.get("icc_profile")
    im, orientation = decode_reduced(src, data, max_side)
    decoded = im
    im = _fit_side(im, max_side)
    if im is not decoded:
        # The decoded pixels are no longer needed: free them before the copies below.
        decoded.close()
        src.close()
    if orientation in _ORIENTATION_OPS:
        im = im.transpose(_ORIENTATION_OPS[orientation])
    if icc:
        im = _to_srgb(im, icc)
    # A fresh image has an empty info dict: nothing of the source's EXIF/XMP/comments
    # can reach the encoder, whatever the plugin would otherwise copy from .info.
    clean = Image.new(im.mode, im.size)
    clean.paste(im)
    return clean


def _inspect_header(data: bytes, name: str) -> ImageInfo:
    """Format, size and structure (``verify``) without decoding the pixels."""
    if not data:
        raise ValidationError("image_empty", name=name)
    with _readable(name), _bomb_guard(), Image.open(io.BytesIO(data)) as im:
        fmt = _FORMAT_ALIASES.get(im.format or "", im.format or "?")
        width, height = im.size
        frames = getattr(im, "n_frames", 1)
        _check_dimensions(width, height, name=name)
        im.verify()  # structural checks (PNG CRCs, ...) without decoding
    if fmt not in MIME:
        raise ValidationError("image_unsupported", name=name, format=fmt)
    return ImageInfo(
        format=fmt,
        mime=MIME[fmt],
        width=width,
        height=height,
        size_bytes=len(data),
        frames=frames,
    )


@contextlib.contextmanager
def _readable(name: str) -> Iterator[None]:
    """Turn Pillow's ways of saying "cannot read this" into one :class:`ValidationError`."""
    try:
        yield
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValidationError("image_bomb", name=name, detail=str(e)) from None
    except UnidentifiedImageError:
        raise ValidationError("image_unknown", name=name) from None
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error) as e:
        # Pillow reports truncation and corrupt streams as OSError/SyntaxError/ValueError;
        # its own words (English) are kept as the detail, the sentence around them is ours.
        raise ValidationError("image_broken", name=name, detail=str(e)) from None


def _one_at_a_time(pixels: int, work: Callable[..., _T], *args: Any) -> _T:
    """``work(*args)``; for an image above :data:`LARGE_IMAGE_PIXELS`, on the large-image thread.

    The daemon prepares images in worker threads for several deliveries at once; four 48 MP
    photos prepared together would need four times the memory of one, for no gain on a
    machine with two cores. One dedicated thread is a queue (one large image at a time) and
    also keeps the memory in one malloc arena: glibc gives every thread its own arena and
    keeps what each one freed, so taking turns across several threads would still leave
    several images' worth of memory behind. Small images do not wait.
    """
    if pixels <= LARGE_IMAGE_PIXELS or threading.current_thread().name.startswith(
        _LARGE_IMAGE_THREAD
    ):
        return work(*args)
    return _large_images.submit(_then_trim, work, *args).result()


def _then_trim(work: Callable[..., _T], *args: Any) -> _T:
    """``work(*args)``, then hand the memory it freed back to the operating system.

    glibc keeps freed blocks in the thread's arena for reuse; after a large image that is
    tens of MB the daemon does not need until the next one, while other threads' arenas
    grow for their own work. ``malloc_trim`` returns it (a no-op where there is no glibc).
    """
    try:
        return work(*args)
    finally:
        if _malloc_trim is not None:
            _malloc_trim(0)


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_malloc_trim()


def _check_decodes(data: bytes, name: str) -> None:
    """Decode every pixel once (reduced when large): what catches a truncated file."""
    with _readable(name), _bomb_guard(), Image.open(io.BytesIO(data)) as im:
        if im.width * im.height > LARGE_IMAGE_PIXELS:
            # A small target still makes the decoder read (and check) the whole stream.
            decode_reduced(im, data, _CHECK_SIDE)
        else:
            im.load()


def _prepare(data: bytes, info: ImageInfo, limits: ImageLimits) -> tuple[bytes, str]:
    """:func:`prepare_for_channel` once the header is checked: decode, clean, encode."""
    with _readable("image"), _bomb_guard(), Image.open(io.BytesIO(data)) as src:
        if info.frames > 1 and info.format in limits.animated_formats:
            out = _animated_gif(src, limits)
            if out is not None:
                return out, MIME["GIF"]
            src.seek(0)
        im = _clean_pixels(src, data, limits.max_side)
    return _encode_to_fit(im, limits, prefer_png=info.format != "JPEG")


_CHECK_SIDE = 256
"""The side a large image is decoded at when only checking that it decodes."""

_ORIENTATION_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation -> the transpose that makes the picture upright (as ImageOps does)."""


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    try:
        src_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst_profile = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(im, src_profile, dst_profile, outputMode=im.mode)
        return converted if converted is not None else im
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken profile: keep the pixels as they are rather than refuse the photo.
        return im


def _fit_side(im: Image.Image, max_side: int) -> Image.Image:
    longest = max(im.size)
    if longest <= max_side:
        return im
    scale = max_side / longest
    return _resized(im, scale)


def _resized(im: Image.Image, scale: float) -> Image.Image:
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    if im.width * im.height <= LARGE_IMAGE_PIXELS:
        return im.resize(size, Image.Resampling.LANCZOS)
    return _resized_in_bands(im, size)


_RESIZE_BAND_ROWS = 256


def _resized_in_bands(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``im.resize(size, LANCZOS)`` a band of output rows at a time.

    Pillow resizes horizontally into a full-height intermediate first (18 MB for a photo
    decoded at 4000x3000); with a ``box`` it only resamples the rows that band needs, and
    the filter still reads the rows around the box, so the bands join without seams.
    """
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(im.mode)
    # Image.resize premultiplies alpha itself, but per call, i.e. a full copy per band.
    source = im.convert(premultiplied) if premultiplied else im
    out = Image.new(source.mode, size)
    step = im.height / size[1]
    for top in range(0, size[1], _RESIZE_BAND_ROWS):
        bottom = min(size[1], top + _RESIZE_BAND_ROWS)
        box = (0.0, top * step, float(im.width), bottom * step)
        out.paste(source.resize((size[0], bottom - top), Image.Resampling.LANCZOS, box), (0, top))
    return out.convert(im.mode) if premultiplied else out


def _flatten(im: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite on white, which is what a feed shows behind it."""
    if im.mode != "RGBA":
        return im.convert("RGB") if im.mode != "RGB" else im
    bg = Image.new("RGB", im.size, (255, 255, 255))
    bg.paste(im, mask=im.getchannel("A"))
    return bg


def _encode_to_fit(im: Image.Image, limits: ImageLimits, *, prefer_png: bool) -> tuple[bytes, str]:
    if prefer_png and "PNG" in limits.accepted_formats:
        png = _save(im, "PNG", optimize=True)
        if len(png) <= min(limits.png_max_bytes, limits.max_bytes):
            return png, MIME["PNG"]
    rgb = _flatten(im)
    while True:
        jpeg = _best_jpeg(rgb, limits.max_bytes)
        if jpeg is not None:
            return jpeg, MIME["JPEG"]
        # Even the lowest quality is too big: shrink. Bytes grow roughly with the pixel
        # count, so aim straight at the limit instead of creeping down step by step.
        worst = len(_save(rgb, "JPEG", quality=_JPEG_MIN_QUALITY, optimize=True))
        scale = min(_DOWNSCALE_STEP, 0.95 * (limits.max_bytes / worst) ** 0.5)
        if min(rgb.size) * scale < _MIN_SIDE:
            raise ValidationError(
                "image_cannot_fit", platform=limits.label, limit=_fmt_mb(limits.max_bytes)
            )
        rgb = _resized(rgb, scale)


def _best_jpeg(rgb: Image.Image, max_bytes: int) -> bytes | None:
    """Highest JPEG quality in [min, max] that fits ``max_bytes``, or None if none does."""
    best = _save(rgb, "JPEG", quality=_JPEG_MAX_QUALITY, optimize=True)
    if len(best) <= max_bytes:
        return best  # the usual case for photos: one encode
    low_q = _JPEG_MIN_QUALITY
    low = _save(rgb, "JPEG", quality=low_q, optimize=True)
    if len(low) > max_bytes:
        return None
    hi_q = _JPEG_MAX_QUALITY  # known too big
    while hi_q - low_q > 2:  # within 2 quality points is indistinguishable
        mid = (low_q + hi_q) // 2
        data = _save(rgb, "JPEG", quality=mid, optimize=True)
        if len(data) <= max_bytes:
            low_q, low = mid, data
        else:
            hi_q = mid
    return low


def _animated_gif(src: Image.Image, limits: ImageLimits) -> bytes | None:
    """Re-save an animated GIF frame by frame (dropping comments); None if it is too big."""
    frames = []
    durations = []
    for frame in ImageSequence.Iterator(src):
        durations.append(frame.info.get("duration", 100))
        f = frame.convert("RGBA")
        f.info = {}  # convert() copies .info, which holds the GIF comment block
        frames.append(_fit_side(f, limits.max_side))
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=src.info.get("loop", 0),
        disposal=2,
        optimize=True,
    )
    data = buf.getvalue()
    return data if len(data) <= limits.max_bytes else None


def _save(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _fmt_mb(n: int) -> str:
    mb = n / MB
    return f"{mb:.0f} MB" if mb >= 10 or mb == int(mb) else f"{mb:.1f} MB"
