"""content.media: checks by content, metadata stripping, re-encoding to channel limits."""

from __future__ import annotations

import io
import random
import struct
import threading
import time
import zlib
from typing import Any

import pytest
from PIL import (
    Image,
    ImageCms,
    ImageDraw,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
)

from content import media, media_decode
from content.errors import ValidationError
from content.media import (
    IMAGE_LIMITS,
    ImageInfo,
    check_for_channel,
    inspect_image,
    prepare_for_channel,
)

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _gps_photo() -> bytes:
    """A JPEG carrying GPS coordinates, a camera model, XMP and a comment."""
    im = Image.new("RGB", (640, 480), (30, 90, 160))
    ImageDraw.Draw(im).ellipse((200, 120, 440, 360), fill=(240, 200, 40))
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "EOS 90D"  # Model
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (TiffImagePlugin.IFDRational(21), TiffImagePlugin.IFDRational(1), 30.5)
    gps[3] = "E"
    gps[4] = (TiffImagePlugin.IFDRational(105), TiffImagePlugin.IFDRational(51), 12.0)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b"<exif:GPSLatitude>21,1N</exif:GPSLatitude></x:xmpmeta>"
    )
    return _encode(im, "JPEG", exif=exif, xmp=xmp, comment=b"Phuong X, Ha Noi", quality=90)


def _noise_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    rng = random.Random(5)
    im = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    return _encode(im, "JPEG", quality=95)


def test_gps_exif_is_stripped() -> None:
    data = _gps_photo()
    with Image.open(io.BytesIO(data)) as src:  # the fixture really has what we strip
        assert src.getexif().get_ifd(GPS_IFD)
        assert "xmp" in src.info and "comment" in src.info

    for kind in IMAGE_LIMITS:
        out, mime = prepare_for_channel(data, kind)
        assert mime == "image/jpeg"
        with Image.open(io.BytesIO(out)) as im:
            assert len(im.getexif()) == 0
            assert not im.getexif().get_ifd(GPS_IFD)
            assert not {"exif", "xmp", "comment", "icc_profile"} & set(im.info)
        assert b"Exif" not in out
        assert b"Canon" not in out and b"GPSLatitude" not in out and b"Phuong" not in out


def test_icc_profile_is_converted_away() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(Image.new("RGB", (500, 500), (10, 120, 200)), "JPEG", icc_profile=srgb)
    out, _ = prepare_for_channel(data, "zalo_oa")
    with Image.open(io.BytesIO(out)) as im:
        assert "icc_profile" not in im.info
        r, g, b = im.getpixel((250, 250))
        assert abs(r - 10) < 8 and abs(g - 120) < 8 and abs(b - 200) < 8


def test_orientation_is_applied() -> None:
    im = Image.new("RGB", (200, 100), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 100, 100))  # stored left half red
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # display = rotate 90 degrees clockwise
    data = _encode(im, "JPEG", exif=exif, quality=95)

    out, _ = prepare_for_channel(data, "zalo_oa")
    with Image.open(io.BytesIO(out)) as upright:
        assert upright.size == (100, 200)
        assert ORIENTATION not in upright.getexif()
        r, g, b = upright.convert("RGB").getpixel((50, 50))  # top: was the left half
        assert r > 200 and b < 60
        r, g, b = upright.convert("RGB").getpixel((50, 150))
        assert b > 200 and r < 60


def test_oversized_photo_is_reencoded_under_zalo_limit() -> None:
    data = _noise_jpeg()
    assert len(data) > 5 * IMAGE_LIMITS["zalo_oa"].max_bytes
    info = inspect_image(data, name="photo.jpg")
    assert (info.format, info.width, info.height) == ("JPEG", 4000, 3000)
    warnings = check_for_channel(info, "zalo_oa")
    assert any("will be re-encoded to fit 1 MB" in w for w in warnings)
    assert any("resized to 2048 px" in w for w in warnings)

    out, mime = prepare_for_channel(data, "zalo_oa")
    assert mime == "image/jpeg"
    assert len(out) <= IMAGE_LIMITS["zalo_oa"].max_bytes
    again = inspect_image(out)
    assert max(again.width, again.height) <= 2048
    assert again.width / again.height == pytest.approx(4 / 3, rel=0.01)


def test_text_renamed_jpg_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"^poster\.jpg: not a readable image"):
        inspect_image(b"This is not a picture, just text.\n", name="poster.jpg")
    with pytest.raises(ValidationError, match="not a readable image"):
        prepare_for_channel(b"%PDF-1.7\n...", "facebook")


def test_svg_and_empty_are_refused() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    with pytest.raises(ValidationError, match="logo.svg: not a readable image"):
        inspect_image(svg, name="logo.svg")
    with pytest.raises(ValidationError, match="empty"):
        inspect_image(b"")
    with pytest.raises(ValidationError, match="SVG images cannot be posted to Zalo OA"):
        check_for_channel(ImageInfo("SVG", "image/svg+xml", 10, 10, 60), "zalo_oa")


def test_truncated_jpeg_is_refused() -> None:
    data = _encode(Image.new("RGB", (400, 300), (200, 10, 10)), "JPEG")
    with pytest.raises(ValidationError, match="cut.jpg: not a readable image"):
        inspect_image(data[: len(data) // 2], name="cut.jpg")


def test_content_not_extension_decides_format() -> None:
    data = _encode(Image.new("RGB", (500, 500), "white"), "PNG")
    info = inspect_image(data, name="looks-like.jpg")
    assert (info.format, info.mime) == ("PNG", "image/png")


def test_absurd_dimensions_are_refused() -> None:
    long_strip = _encode(Image.new("1", (40_000, 2)), "PNG")
    with pytest.raises(ValidationError, match="40000x2 is too large"):
        inspect_image(long_strip, name="strip.png")
    with pytest.raises(ValidationError, match="too large"):
        check_for_channel(ImageInfo("PNG", "image/png", 9000, 9000, 1000), "facebook")


def test_decompression_bomb_is_refused() -> None:
    # 100 MP of one colour compresses to a few kB: the classic bomb shape.
    bomb = _encode(Image.new("1", (10_000, 10_000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(ValidationError, match="bomb.png: not a readable image"):
        inspect_image(bomb, name="bomb.png")


def test_unknown_kind_is_refused() -> None:
    info = ImageInfo("PNG", "image/png", 800, 800, 1000)
    with pytest.raises(ValidationError, match="unknown channel kind 'tiktok'"):
        check_for_channel(info, "tiktok")


def test_webp_is_converted_for_zalo_and_png_alpha_kept() -> None:
    im = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((100, 100, 500, 300), fill=(200, 30, 30, 255))
    webp = _encode(im, "WEBP", lossless=True)
    info = inspect_image(webp)
    assert info.format == "WEBP"
    assert any("converted to" in w for w in check_for_channel(info, "zalo_oa"))

    out, mime = prepare_for_channel(webp, "zalo_oa")
    assert mime == "image/png"
    with Image.open(io.BytesIO(out)) as png:
        assert png.mode == "RGBA" and png.getpixel((0, 0))[3] == 0


def test_small_photo_passes_without_size_warnings() -> None:
    data = _gps_photo()
    info = inspect_image(data)
    assert check_for_channel(info, "facebook") == []
    out, _ = prepare_for_channel(data, "facebook")
    assert inspect_image(out).size_bytes < IMAGE_LIMITS["facebook"].max_bytes


def test_big_png_goes_as_jpeg_to_facebook() -> None:
    rng = random.Random(1)
    im = Image.frombytes("RGB", (1200, 900), rng.randbytes(1200 * 900 * 3))
    data = _encode(im, "PNG")
    assert len(data) > 1_000_000
    assert any("sent as JPEG" in w for w in check_for_channel(inspect_image(data), "facebook"))
    out, mime = prepare_for_channel(data, "facebook")
    assert mime == "image/jpeg" and len(out) <= IMAGE_LIMITS["facebook"].max_bytes


def test_animated_gif_kept_on_facebook_first_frame_on_zalo() -> None:
    frames = [Image.new("RGB", (300, 300), c) for c in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], comment=b"secret")
    gif = buf.getvalue()
    info = inspect_image(gif)
    assert info.frames == 3
    out, mime = prepare_for_channel(gif, "facebook")
    assert mime == "image/gif" and b"secret" not in out
    assert inspect_image(out).frames == 3
    assert any("first frame" in w for w in check_for_channel(info, "zalo_oa"))
    out, mime = prepare_for_channel(gif, "zalo_oa")
    assert mime in ("image/png", "image/jpeg")


# --- big photos: bounded memory (issue #15) ---------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _huge_png(width: int = 8100, height: int = 6000) -> bytes:
    """A 48.6 MP RGBA PNG of about 200 kB (zlib's best ratio), written row by row.

    The picture never exists decoded here (it would be 194 MB).

    Top half red, bottom half blue, the last tenth transparent; the first row of each part
    is unfiltered and the rest use the "Up" filter, so bands start on both kinds of row.
    """
    packer = zlib.compressobj(9)
    parts = []
    sections = [
        (height // 2, (200, 30, 30, 255)),
        (height - height // 2 - height // 10, (30, 60, 200, 255)),
        (height // 10, (0, 0, 0, 0)),
    ]
    for rows, colour in sections:
        parts.append(packer.compress(b"\x00" + bytes(colour) * width))
        up = b"\x02" + bytes(4 * width)
        for _ in range(rows - 1):
            parts.append(packer.compress(up))
    parts.append(packer.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """An 8000x6000 JPEG as a phone writes it: sensor landscape, EXIF says "rotate 90"."""
    im = Image.new("RGB", (8000, 6000), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 4000, 6000))  # stored left half red -> top when upright
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "PhoneMaker"
    return _encode(im, "JPEG", exif=exif, quality=90)


@pytest.fixture
def decoded_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Records the size at which every JPEG and PNG is actually decoded."""
    seen: list[tuple[str, tuple[int, int]]] = []
    for cls in (JpegImagePlugin.JpegImageFile, PngImagePlugin.PngImageFile):
        original = cls.load

        def load(self: Any, _original: Any = original) -> Any:
            if self.tile:  # about to decode pixels
                seen.append((self.format, self.size))
            return _original(self)

        monkeypatch.setattr(cls, "load", load)
    return seen


def test_48mp_phone_photo_is_decoded_reduced_and_fits_each_channel(
    phone_photo: bytes, decoded_sizes: list[tuple[str, tuple[int, int]]]
) -> None:
    info = inspect_image(phone_photo, name="IMG_0001.jpg")
    assert (info.width, info.height) == (8000, 6000)
    for kind, limits in IMAGE_LIMITS.items():
        out, mime = prepare_for_channel(phone_photo, kind)
        assert mime == "image/jpeg" and len(out) <= limits.max_bytes
        with Image.open(io.BytesIO(out)) as upright:
            assert upright.size == (1536, 2048)  # upright, at the display size
            assert len(upright.getexif()) == 0 and b"PhoneMaker" not in out
            r, _, b = upright.convert("RGB").getpixel((768, 200))
            assert r > 200 and b < 60  # the stored left half is on top
    # The decoder was asked for a reduced scale every time: 8000x6000 never existed here.
    jpeg_sizes = [size for fmt, size in decoded_sizes if fmt == "JPEG" and size[0] > 2000]
    assert jpeg_sizes and all(size <= (4000, 3000) for size in jpeg_sizes), decoded_sizes


def test_48mp_png_of_200_kb_is_decoded_in_bands_and_fits(
    decoded_sizes: list[tuple[str, tuple[int, int]]],
) -> None:
    data = _huge_png()
    assert len(data) < 300_000  # 1/1000 of its pixels: the shape that cost 800 MB
    info = inspect_image(data, name="poster.png")
    assert (info.format, info.width, info.height) == ("PNG", 8100, 6000)

    out, mime = prepare_for_channel(data, "zalo_oa")
    assert mime == "image/png" and len(out) <= IMAGE_LIMITS["zalo_oa"].max_bytes
    with Image.open(io.BytesIO(out)) as png:
        assert png.mode == "RGBA" and png.size == (2048, 1517)
        assert png.getpixel((1000, 300)) == (200, 30, 30, 255)
        assert png.getpixel((1000, 1100)) == (30, 60, 200, 255)
        assert png.getpixel((1000, 1500))[3] == 0  # the transparent band stays transparent
    out, mime = prepare_for_channel(data, "facebook")
    assert len(out) <= IMAGE_LIMITS["facebook"].max_bytes
    assert max(Image.open(io.BytesIO(out)).size) == 2048

    png_sizes = [size for fmt, size in decoded_sizes if fmt == "PNG" and size[0] == 8100]
    assert png_sizes and max(h for _, h in png_sizes) < 6000 / 4, "never decoded whole"


def test_truncated_huge_png_is_refused() -> None:
    data = _huge_png()
    with pytest.raises(ValidationError, match="not a readable image"):
        prepare_for_channel(data[: len(data) // 2], "zalo_oa")


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
def test_png_bands_give_the_same_pixels_as_one_decode(
    mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(mode)
    noise = Image.frombytes("RGB", (250, 190), rng.randbytes(250 * 190 * 3))
    im = noise.resize((1000, 757))  # smooth and noisy rows: the encoder picks every filter
    im = im.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else im.convert(mode)
    data = _encode(im, "PNG", optimize=True)
    monkeypatch.setattr(media_decode, "_PNG_BAND_BYTES", 40_000)  # about ten rows per band

    banded = media_decode.png_bands_reduced(data, 3)
    assert banded is not None
    with Image.open(io.BytesIO(data)) as whole:
        expected = media_decode.to_encodable(whole.convert(whole.mode)).reduce(3)
    assert banded[0].mode == expected.mode and banded[0].size == expected.size
    assert banded[0].tobytes() == expected.tobytes()


def test_large_decodes_take_turns_small_ones_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "LARGE_IMAGE_PIXELS", 50_000)
    original = media.decode_reduced
    active = 0
    most = 0
    guard = threading.Lock()
    together = threading.Barrier(2, timeout=5)

    def decode(src: Image.Image, *args: Any) -> Any:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        try:
            if src.width * src.height <= media.LARGE_IMAGE_PIXELS:
                together.wait()  # small images: both threads must be decoding at once
            else:
                time.sleep(0.3)  # a large one: a second decode would overlap this
            return original(src, *args)
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(media, "decode_reduced", decode)

    def prepare_in_two_threads(data: bytes) -> list[tuple[bytes, str]]:
        start = threading.Barrier(2)
        results: list[tuple[bytes, str]] = []

        def work() -> None:
            start.wait()
            results.append(prepare_for_channel(data, "zalo_oa"))

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    large = prepare_in_two_threads(_encode(Image.new("RGB", (400, 300), "red"), "JPEG"))
    assert most == 1 and len(large) == 2  # 120,000 px: one decode at a time, both done
    most = 0
    small = prepare_in_two_threads(_encode(Image.new("RGB", (200, 100), "red"), "JPEG"))
    assert most == 2 and len(small) == 2 and not together.broken  # 20,000 px: in parallel


def test_errors_of_a_large_image_reach_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media, "LARGE_IMAGE_PIXELS", 50_000)
    data = _encode(Image.new("RGB", (400, 300), (200, 10, 10)), "JPEG")
    with pytest.raises(ValidationError, match="not a readable image"):
        prepare_for_channel(data[: len(data) // 2], "facebook")
