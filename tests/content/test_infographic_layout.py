"""content.infographic: text fitting, normalisation, validation, encoding, speed."""

from __future__ import annotations

import io
import random
import time
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from content import infographic
from content.errors import LoaError, ValidationError
from content.infographic import Branding, fitting, list_templates, plan, render

TITLE = "Cảnh giác lừa đảo qua mạng – Không chuyển tiền cho người lạ"
WORDS = (
    "Cảnh giác lừa đảo qua mạng không chuyển tiền cho người lạ giả danh cán bộ Công an "
    "yêu cầu xác minh tài khoản ngân hàng đường dây nóng tiếp nhận tin báo tội phạm"
).split()


def _text_of_length(n: int) -> str:
    """Realistic Vietnamese words, exactly ``n`` characters long (NFC)."""
    out = ""
    i = 0
    while len(out) < n:
        out = f"{out} {WORDS[i % len(WORDS)]}".strip()
        i += 1
    return out[:n].rstrip() or "a"


def _photo(tmp_path: Path) -> Path:
    im = Image.new("RGB", (800, 600), (70, 120, 170))
    ImageDraw.Draw(im).rectangle((0, 400, 800, 600), fill=(60, 110, 60))
    path = tmp_path / "photo.jpg"
    im.save(path, "JPEG")
    return path


def _title(p: infographic.Plan, field: str = "title") -> infographic.FittedText:
    return next(t for b in p.blocks for t in b.texts if t.field == field)


def test_raqm_is_active() -> None:
    assert features.check("raqm"), "libraqm/libfribidi missing: install libfribidi0"
    font = fitting.font("bold", 40)
    assert font.layout_engine == ImageFont.Layout.RAQM


def test_missing_raqm_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fitting.features, "check", lambda name: False)
    fitting.font.cache_clear()
    try:
        with pytest.raises(LoaError, match="RAQM text layout is unavailable"):
            render("warning", {"title": TITLE})
    finally:
        monkeypatch.undo()
        fitting.font.cache_clear()


def test_bundled_fonts_and_licence() -> None:
    for name in infographic.FONT_FILES.values():
        assert (infographic.FONT_DIR / name).is_file()
    licence = (infographic.FONT_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Google" in licence
    # Every Vietnamese letter has a glyph (no .notdef boxes): compare with a known-missing one.
    font = fitting.font("regular", 40)
    letters = "ăâđêôơưĂÂĐÊÔƠƯ" + "ảạấầẩẫậắằẳẵặẻẽẹếềểễệỉịỏọốồổỗộớờởỡợủụứừửữựỳỷỹỵ"
    notdef = font.getmask("\U000e0100").getbbox()
    for ch in letters + letters.upper():
        assert font.getmask(ch).getbbox() != notdef, ch


def test_list_templates() -> None:
    templates = {t.name: t for t in list_templates()}
    assert {"warning", "tips", "hotline", "announcement", "news-photo"} <= set(templates)
    for t in templates.values():
        assert t.title and t.description
        assert any(f.required for f in t.fields)
        assert all(f.max_chars > 0 for f in t.fields)
        assert set(infographic.SIZES) <= set(t.sizes)


def test_nfd_input_renders_like_nfc() -> None:
    nfc = {"title": TITLE, "body": "Người dân cần cảnh giác, không nghe theo hướng dẫn lạ."}
    nfd = {k: unicodedata.normalize("NFD", v) for k, v in nfc.items()}
    assert nfd != nfc
    a = render("warning", nfc)
    b = render("warning", nfd)
    assert ImageChops.difference(a, b).getbbox() is None


def test_long_field_shrinks_and_stays_inside_its_box() -> None:
    short = plan("warning", {"title": "Cảnh giác lừa đảo"})
    long = plan("warning", {"title": _text_of_length(90)})
    t_short, t_long = _title(short), _title(long)
    assert t_long.font_size < t_short.font_size
    assert len(t_long.lines) > len(t_short.lines)
    for p in (short, long):
        _assert_inside(p)


def _assert_inside(p: infographic.Plan) -> None:
    """Every block inside the content area, texts inside their boxes, no overlaps."""
    w, h = p.size
    bottom = p.footer_box[1] if p.footer_box else h
    by_column: dict[int, list[tuple[int, int]]] = {}
    for placed in p.blocks:
        x0, y0, x1, y1 = placed.box
        assert 0 <= x0 < x1 <= w and p.header_box[3] < y0 < y1 <= bottom, placed.block
        by_column.setdefault(placed.block.column, []).append((y0, y1))
        for t in placed.texts:
            font = fitting.font(t.weight, t.font_size)
            tx0, ty0, tx1, ty1 = t.box
            assert x0 <= tx0 < tx1 <= x1 and y0 <= ty0 < ty1 <= y1, t.field
            assert all(font.getlength(line) <= tx1 - tx0 for line in t.lines), t.field
            assert t.height <= ty1 - ty0, t.field
    for spans in by_column.values():
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert end <= start


def test_line_height_comes_from_font_metrics() -> None:
    t = _title(plan("warning", {"title": "Ổn định trật tự, Ầm ĩ, Ộ Ệ Ữ"}))
    ascent, descent = fitting.font(t.weight, t.font_size).getmetrics()
    assert t.line_height >= ascent + descent > t.font_size


@pytest.mark.parametrize("size", list(infographic.SIZES))
@pytest.mark.parametrize("template", ["warning", "tips", "hotline", "announcement", "news-photo"])
def test_max_chars_always_fit(template: str, size: str, tmp_path: Path) -> None:
    """max_chars is a promise: text that long renders in every size without error."""
    info = next(t for t in list_templates() if t.name == template)
    fields = {
        f.name: ("0243.942.4040 – 113" if f.name == "number" else _text_of_length(f.max_chars))
        for f in info.fields
    }
    image = _photo(tmp_path) if info.image == "required" else None
    p = plan(template, fields, size=size, image=image)
    assert p.blocks
    _assert_inside(p)


def test_impossible_fit_names_the_field() -> None:
    word = "Khôngchuyểntiềnchongườilạ" * 3  # one "word" wider than any line
    with pytest.raises(ValidationError) as e:
        render("warning", {"title": word})
    assert e.value.field == "fields.title"
    assert "does not fit" in str(e.value) and str(e.value).startswith("fields.title: ")


def test_too_many_characters_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"^fields\.title: 91 characters, at most 90"):
        render("warning", {"title": "a" * 91})


def test_unknown_template_field_and_missing_required() -> None:
    with pytest.raises(ValidationError, match="template: unknown template 'poster'"):
        render("poster", {"title": "x"})
    with pytest.raises(ValidationError) as e:
        render("warning", {"title": "x", "subtitle": "y"})
    assert e.value.field == "fields.subtitle" and "unknown field" in str(e.value)
    with pytest.raises(ValidationError) as e:
        render("hotline", {"title": "Đường dây nóng"})
    assert e.value.field == "fields.number" and "required" in str(e.value)
    with pytest.raises(ValidationError, match="^fields.title: required"):
        render("warning", {"title": "   "})


def test_photo_rules(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="^image: template 'news-photo' needs a photo"):
        render("news-photo", {"title": "Tin"})
    with pytest.raises(ValidationError, match="^image: template 'warning' does not take"):
        render("warning", {"title": "x"}, image=_photo(tmp_path))
    fake = tmp_path / "photo.jpg"
    fake.write_text("not a picture")
    with pytest.raises(ValidationError, match="not a readable image"):
        render("news-photo", {"title": "Tin"}, image=fake)


def test_sizes() -> None:
    assert render("warning", {"title": "x"}, size="1200x630").size == (1200, 630)
    assert render("warning", {"title": "x"}, size=(900, 900)).size == (900, 900)
    with pytest.raises(ValidationError, match="^size: 'big' is not a size"):
        render("warning", {"title": "x"}, size="big")
    with pytest.raises(ValidationError, match="^size: 10x10 is out of range"):
        render("warning", {"title": "x"}, size="10x10")


def test_branding_colours_and_logo(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    im = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((0, 0, 299, 299), fill=(200, 0, 0, 255))
    im.save(logo)
    branding = Branding(
        office_name="Công an phường Cửa Nam", primary="#7A0019", accent="#FFD000", logo_path=logo
    )
    card = render("tips", {"title": "Mẹo", "item1": "Một", "item2": "Hai"}, branding=branding)
    assert card.getpixel((card.width - 5, 5)) == (0x7A, 0x00, 0x19)  # header in primary
    with pytest.raises(ValidationError, match="^branding.primary: 'navy-ish' is not a colour"):
        render("warning", {"title": "x"}, branding=Branding(primary="navy-ish"))
    with pytest.raises(ValidationError) as e:
        render("warning", {"title": "x"}, branding=Branding(logo_path=tmp_path / "none.png"))
    assert e.value.field == "branding.logo_path"


def test_encode_for_channel() -> None:
    card = render("warning", {"title": TITLE})
    data, mime = infographic.encode_for_channel(card, "facebook")
    assert mime == "image/png" and len(data) <= 1_000_000
    data, mime = infographic.encode_for_channel(card, "zalo_oa")
    assert mime == "image/jpeg" and len(data) <= 1_000_000
    assert Image.open(io.BytesIO(data)).size == card.size
    # A picture PNG cannot keep under 1 MB goes to Facebook as JPEG.
    rng = random.Random(3)
    noisy = Image.frombytes("RGB", (1080, 1080), rng.randbytes(1080 * 1080 * 3))
    data, mime = infographic.encode_for_channel(noisy, "facebook")
    assert mime == "image/jpeg" and len(data) <= 4_000_000


@pytest.mark.parametrize("template", ["warning", "tips", "hotline", "announcement", "news-photo"])
def test_render_is_fast(template: str, tmp_path: Path) -> None:
    info = next(t for t in list_templates() if t.name == template)
    fields = {f.name: _text_of_length(min(f.max_chars, 60)) for f in info.fields if f.required}
    if "number" in fields:
        fields["number"] = "113"
    image = _photo(tmp_path) if info.image == "required" else None
    render(template, fields, image=image)  # warm the font cache
    start = time.perf_counter()
    render(template, fields, size="1080x1350", image=image)
    assert time.perf_counter() - start < 1.0
