"""Image checks and re-encoding per channel limits.

Everything here works on bytes and checks images by their *content*, never by file name:
a ``.jpg`` that is really a PDF is refused, a PNG called ``photo.jpg`` is a PNG.

Privacy: officers upload phone photos that carry GPS coordinates, camera serials and
editing history. :func:`prepare_for_channel` always re-encodes from pixels, so no EXIF,
GPS, XMP, IPTC or comment block survives. An embedded ICC colour profile is *converted
away* (pixels are mapped to sRGB, then the profile is dropped): profiles can name the
device that made them, and every platform assumes sRGB anyway, so this keeps the colours
right without carrying any metadata.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from content.errors import ValidationError

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

    The whole image is decoded once, so truncated or corrupt files are caught here rather
    than at publish time. Raises :class:`ValidationError` naming ``name`` when the bytes are
    not a readable image, are in a format Loa does not handle, or are absurdly large.
    """
    if not data:
        raise ValidationError(f"{name}: not a readable image (empty file)")
    try:
        with _bomb_guard():
            with Image.open(io.BytesIO(data)) as im:
                fmt = _FORMAT_ALIASES.get(im.format or "", im.format or "?")
                width, height = im.size
                frames = getattr(im, "n_frames", 1)
                _check_dimensions(width, height, name=name)
                im.verify()  # structural checks (PNG CRCs, ...) without decoding
            # verify() leaves the image unusable; reopen to decode every pixel, which is what
            # catches a truncated JPEG.
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ValidationError(f"{name}: not a readable image (too many pixels: {e})") from None
    except UnidentifiedImageError:
        raise ValidationError(
            f"{name}: not a readable image (content is not JPEG, PNG, GIF, WEBP, BMP or TIFF)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        # Pillow reports truncation and corrupt streams as OSError/SyntaxError/ValueError.
        raise ValidationError(f"{name}: not a readable image ({e})") from None
    if fmt not in MIME:
        raise ValidationError(f"{name}: unsupported image format {fmt} (use JPEG or PNG)")
    return ImageInfo(
        format=fmt,
        mime=MIME[fmt],
        width=width,
        height=height,
        size_bytes=len(data),
        frames=frames,
    )


def check_for_channel(info: ImageInfo, kind: str) -> list[str]:
    """Say what :func:`prepare_for_channel` will have to do for channel ``kind``.

    Returns human-readable warnings (empty when the image goes as it is, apart from
    metadata stripping). Raises :class:`ValidationError` when no re-encoding can make the
    image acceptable: unknown channel kind, unsupported format, absurd dimensions.
    """
    limits = limits_for(kind)
    if info.format not in MIME:
        raise ValidationError(
            f"{info.format} images cannot be posted to {limits.label} (use JPEG or PNG)"
        )
    _check_dimensions(info.width, info.height, name="image", limits=limits)
    warnings_: list[str] = []
    if info.format not in limits.accepted_formats:
        target = "PNG or JPEG" if "PNG" in limits.accepted_formats else "JPEG"
        warnings_.append(
            f"{info.format} is not accepted by {limits.label}; will be converted to {target}"
        )
    if info.frames > 1 and info.format not in limits.animated_formats:
        warnings_.append(
            f"{limits.label} does not take animated {info.format}; only the first frame is sent"
        )
    if max(info.width, info.height) > limits.max_side:
        warnings_.append(
            f"{info.width}x{info.height} will be resized to {limits.max_side} px "
            f"on its longest side for {limits.label}"
        )
    if info.size_bytes > limits.max_bytes:
        warnings_.append(
            f"{_fmt_mb(info.size_bytes)} is over {limits.label}'s {_fmt_mb(limits.max_bytes)} "
            f"limit; will be re-encoded to fit {_fmt_mb(limits.max_bytes)}"
        )
    elif info.format == "PNG" and info.size_bytes > limits.png_max_bytes:
        warnings_.append(
            f"PNG of {_fmt_mb(info.size_bytes)} is over {_fmt_mb(limits.png_max_bytes)}; "
            f"will be sent as JPEG to {limits.label}"
        )
    if min(info.width, info.height) < _SMALL_SIDE:
        warnings_.append(
            f"{info.width}x{info.height} is small and will look blurry "
            f"(at least {_SMALL_SIDE} px on the short side is better)"
        )
    return warnings_


def prepare_for_channel(data: bytes, kind: str) -> tuple[bytes, str]:
    """Return ``(bytes, mime)`` ready to upload to channel ``kind``.

    Applies the EXIF orientation, strips all metadata (see the module docstring), maps
    colours to sRGB, converts formats the channel does not take, downscales to the
    channel's display size, and re-encodes (JPEG quality steps, then smaller sizes) until
    the result fits the channel's byte limit. Raises :class:`ValidationError` when the
    input is not a usable image.
    """
    limits = limits_for(kind)
    info = inspect_image(data)
    check_for_channel(info, kind)
    with _bomb_guard(), Image.open(io.BytesIO(data)) as src:
        if info.frames > 1 and info.format in limits.animated_formats:
            out = _animated_gif(src, limits)
            if out is not None:
                return out, MIME["GIF"]
            src.seek(0)
        im = _clean_pixels(src)
    im = _fit_side(im, limits.max_side)
    return _encode_to_fit(im, limits, prefer_png=info.format != "JPEG")


def encode_to_fit(im: Image.Image, kind: str, *, prefer_png: bool = True) -> tuple[bytes, str]:
    """Encode an already-clean PIL image (e.g. a rendered infographic) for ``kind``.

    PNG when preferred and it fits the channel's PNG budget, otherwise JPEG at the best
    quality (then size) that fits the byte limit.
    """
    limits = limits_for(kind)
    im = _fit_side(_to_encodable(im), limits.max_side)
    return _encode_to_fit(im, limits, prefer_png=prefer_png)


def limits_for(kind: str) -> ImageLimits:
    """The :class:`ImageLimits` of a channel kind, or a ValidationError naming it."""
    try:
        return IMAGE_LIMITS[kind]
    except KeyError:
        known = ", ".join(sorted(IMAGE_LIMITS))
        raise ValidationError(f"unknown channel kind {kind!r} (known: {known})") from None


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
        raise ValidationError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels or max(width, height) > max_side:
        raise ValidationError(
            f"{name}: {width}x{height} is too large "
            f"(at most {max_pixels // 1_000_000} megapixels and {max_side} px on a side)"
        )


def _clean_pixels(src: Image.Image) -> Image.Image:
    """Upright, sRGB, metadata-free copy of the first frame in an encodable mode."""
    src.load()
    im = ImageOps.exif_transpose(src)  # always a new image
    icc = src.info.get("icc_profile")
    im = _to_encodable(im)
    if icc:
        im = _to_srgb(im, icc)
    # A fresh image has an empty info dict: nothing of the source's EXIF/XMP/comments
    # can reach the encoder, whatever the plugin would otherwise copy from .info.
    clean = Image.new(im.mode, im.size)
    clean.paste(im)
    return clean


def _to_encodable(im: Image.Image) -> Image.Image:
    """RGB, or RGBA when there is transparency (kept for PNG, flattened for JPEG)."""
    if im.mode in ("RGB", "RGBA"):
        return im
    has_alpha = im.mode in ("LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if im.mode == "L":
        return im.convert("RGB")
    return im.convert("RGBA" if has_alpha else "RGB")


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
    return im.resize(size, Image.Resampling.LANCZOS)


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
                f"image cannot be made to fit {limits.label}'s {_fmt_mb(limits.max_bytes)} limit"
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
