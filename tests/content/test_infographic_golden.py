"""Golden images: every template rendered with diacritic-heavy Vietnamese, pixel-compared.

Regenerate after an intended visual change with::

    LOA_UPDATE_GOLDEN=1 pytest tests/content/test_infographic_golden.py

then look at the PNGs in tests/content/golden/ before committing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from content.infographic import Branding, render, sample_fields

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LOA_UPDATE_GOLDEN") == "1"

#: Mean absolute difference per channel (0-255) and share of clearly changed pixels that
#: are still "the same picture": anti-aliasing noise passes, a moved or changed word fails.
MAX_MEAN_DIFF = 0.35
MAX_CHANGED_SHARE = 0.002

BRANDING = Branding(office_name="Công an thành phố Hà Nội")

SAMPLES: dict[str, dict[str, str]] = sample_fields()

CASES = (
    [(name, "1080x1080") for name in SAMPLES]
    + [(name, "1200x675") for name in SAMPLES]
    + [("warning", "1080x1350"), ("tips", "1200x630")]
)


def make_photo(path: Path) -> Path:
    """A deterministic stand-in for a news photo: sky gradient, sun, hill, field."""
    im = Image.new("RGB", (1600, 1000))
    d = ImageDraw.Draw(im)
    for y in range(1000):
        d.line((0, y, 1600, y), fill=(40 + y // 10, 90 + y // 12, 140 + y // 20))
    d.rectangle((0, 700, 1600, 1000), fill=(60, 110, 60))
    d.ellipse((1200, 120, 1400, 320), fill=(250, 220, 120))
    d.polygon([(300, 700), (600, 350), (900, 700)], fill=(90, 80, 70))
    im.save(path, "PNG")
    return path


def render_sample(name: str, size: str, tmp_path: Path) -> Image.Image:
    image = make_photo(tmp_path / "photo.png") if name == "news-photo" else None
    return render(name, SAMPLES[name], size=size, branding=BRANDING, image=image)


def assert_same_picture(actual: Image.Image, golden_path: Path, tmp_path: Path) -> None:
    with Image.open(golden_path) as golden:
        expected = golden.convert("RGB")
    assert actual.size == expected.size, f"{golden_path.name}: size changed"
    diff = ImageChops.difference(actual.convert("RGB"), expected)
    mean = sum(ImageStat.Stat(diff).mean) / 3
    changed = diff.convert("L").point(lambda v: 255 if v > 48 else 0)
    share = ImageStat.Stat(changed).mean[0] / 255
    if mean > MAX_MEAN_DIFF or share > MAX_CHANGED_SHARE:
        out = tmp_path / f"actual-{golden_path.name}"
        actual.save(out)
        pytest.fail(
            f"{golden_path.name} differs (mean {mean:.3f}, changed {share:.4%}); "
            f"actual image saved to {out}; LOA_UPDATE_GOLDEN=1 regenerates"
        )


@pytest.mark.parametrize(("name", "size"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_golden(name: str, size: str, tmp_path: Path) -> None:
    actual = render_sample(name, size, tmp_path)
    golden_path = GOLDEN / f"{name}-{size}.png"
    if UPDATE or not golden_path.exists():
        if not UPDATE:
            pytest.fail(f"{golden_path} is missing; run with LOA_UPDATE_GOLDEN=1 to create it")
        GOLDEN.mkdir(exist_ok=True)
        actual.save(golden_path, optimize=True)
        return
    assert_same_picture(actual, golden_path, tmp_path)
