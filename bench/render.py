"""Infographic rendering: every template at 1080x1080, median of several runs, plus encoding.

Fields are long, diacritic-heavy Vietnamese (the golden-image samples), so line fitting does
real work. The first render of each template is reported apart (fonts and templates load
then); the target applies to the median of the warm runs. Encoding is
``encode_for_channel`` for Facebook (PNG) and Zalo (JPEG).

    python bench/render.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/render.py`
from common import Figure, check, say

from content.infographic import sample_fields

SIZE = "1080x1080"
LIMIT_MS = 150.0

SAMPLES: dict[str, dict[str, str]] = sample_fields()


def make_photo(path: Path) -> Path:
    """A 1600x1000 stand-in for a news photo (gradient, sun, hill)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1600, 1000))
    d = ImageDraw.Draw(im)
    for y in range(1000):
        d.line((0, y, 1600, y), fill=(40 + y // 10, 90 + y // 12, 140 + y // 20))
    d.rectangle((0, 700, 1600, 1000), fill=(60, 110, 60))
    d.ellipse((1200, 120, 1400, 320), fill=(250, 220, 120))
    d.polygon([(300, 700), (600, 350), (900, 700)], fill=(90, 80, 70))
    im.save(path, "PNG")
    return path


def fields_for(info: Any) -> dict[str, str]:
    """Sample fields for a template (a generic sentence per required field if unknown)."""
    if info.name in SAMPLES:
        return SAMPLES[info.name]
    text = "Cảnh giác với thủ đoạn lừa đảo mới trên mạng xã hội"
    return {f.name: text[: f.max_chars] for f in info.fields if f.required}


def timed(fn: Any, runs: int) -> tuple[float, list[float], Any]:
    """(first call ms, later calls ms, last result)."""
    times, result = [], None
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        result = fn()
        times.append(1000 * (time.perf_counter() - t0))
    return times[0], times[1:], result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Render and encode each template; report medians."""
    from content import infographic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    branding = infographic.Branding(office_name="Công an thành phố Hà Nội")
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="loa-bench-render-") as tmp:
        photo = make_photo(Path(tmp) / "photo.png")
        for info in infographic.list_templates():
            say(f"render: {info.name}")
            image = photo if info.image != "none" else None
            fields = fields_for(info)

            def render(name: str = info.name, f: dict[str, str] = fields, im: Any = image) -> Any:
                return infographic.render(name, f, size=SIZE, branding=branding, image=im)

            cold, warm, card = timed(render, args.runs)
            _, png, (data, _mime) = timed(
                lambda c=card: infographic.encode_for_channel(c, "facebook"), args.runs
            )
            _, jpeg, (jdata, _m) = timed(
                lambda c=card: infographic.encode_for_channel(c, "zalo_oa"), args.runs
            )
            median = statistics.median(warm)
            figures.append(check(f"{info.name}: render (median)", median, "ms", LIMIT_MS))
            figures.append(
                Figure(
                    f"{info.name}: first render / PNG / JPEG encode",
                    f"{cold:.0f} / {statistics.median(png):.0f} / {statistics.median(jpeg):.0f}",
                    "ms",
                )
            )
            details[info.name] = {
                "render_ms": warm,
                "render_median_ms": median,
                "first_render_ms": cold,
                "png_encode_median_ms": statistics.median(png),
                "png_bytes": len(data),
                "jpeg_encode_median_ms": statistics.median(jpeg),
                "jpeg_bytes": len(jdata),
            }
    return common.emit("render", f"Infographic rendering at {SIZE} (4)", figures, details)


if __name__ == "__main__":
    main()
