"""Big photos: `loa daemon` peak RSS while publishing four 48 MP photos to 2 Pages + 2 OAs.

Phone cameras write 48 MP JPEGs (8000x6000, 8-15 MB) and screenshots or exported posters can
be 48 MP PNGs that compress to a few kilobytes; each is re-encoded per channel in a worker
thread, for several deliveries at once. The daemon runs as a subprocess with its default
settings; it first publishes text-only posts to the same four channels (the baseline: the
daemon's own footprint, with Zalo's default cover cards rendered), its ``VmHWM`` is read, then
three phone JPEGs and one PNG are queued to all four channels, due at the same second, and
``VmHWM`` is read again once all 16 deliveries are published.

    python bench/photos.py [--jpegs 3] [--pngs 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/photos.py`
from common import Figure, check, say

PAGES = 2
OAS = 2
#: 8000x6000: the 48 MP a phone's main camera writes.
JPEG_SIZE = (8000, 6000)
#: 8100x6000 = 48.6 MP, under Loa's 50 MP input limit.
PNG_SIZE = (8100, 6000)
#: The documented limit (README of bench/): peak RSS while publishing the photos.
PEAK_RSS_LIMIT_MB = 250.0
PUBLISH_TIMEOUT_S = 300.0
AUTHOR = "bench-officer"
APPROVER = "bench-chief"


def phone_jpeg(seed: int, size: tuple[int, int] = JPEG_SIZE) -> bytes:
    """A JPEG shaped like a phone photo: 48 MP, smooth gradients plus sensor noise, EXIF.

    Noise keeps the file at a phone's size (about 10 MB at quality 90), so the decoder and
    encoders do the work a real photo costs; the EXIF orientation (6: rotate 90 degrees)
    and GPS tag are what phones write and what Loa must apply and strip.
    """
    from PIL import Image, ImageChops

    w, h = size
    small = (w // 8, h // 8)
    # Gradients drawn small and scaled up: cheap, and smooth like sky and walls.
    red = Image.linear_gradient("L").resize(small).rotate(seed * 37 % 360).resize(size)
    green = Image.radial_gradient("L").resize(small).resize(size)
    blue = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
    noise = Image.effect_noise(size, 4 + seed)  # mean 128, like sensor noise
    channels = [ImageChops.add(c, noise, scale=1.0, offset=-128) for c in (red, green, blue)]
    del noise
    img = Image.merge("RGB", channels)
    del channels
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the sensor is landscape, the phone was upright
    exif[0x010F] = "BenchPhone"
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 30.0)}  # GPS IFD
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


def big_png(size: tuple[int, int] = PNG_SIZE) -> bytes:
    """A 48.6 MP PNG that compresses to kilobytes: a flat poster with a few shapes and alpha.

    This is the file that took the daemon from 165 MB to 992 MB: tiny on disk, huge decoded.
    """
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", size, (240, 240, 235, 255))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((w // 10, h // 10, w // 2, h // 2), fill=(200, 30, 30, 255))
    draw.ellipse((w // 2, h // 3, w - w // 10, h - h // 10), fill=(30, 60, 200, 255))
    draw.rectangle((0, h - h // 12, w, h), fill=(0, 0, 0, 0))  # a transparent band
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def bench_channels(sb: Any) -> list[common.BenchChannel]:
    """``page0``, ``page1`` (Facebook) and ``oa0``, ``oa1`` (Zalo, not broadcasting)."""
    pages = [common.BenchChannel(f"page{i}", "facebook", p) for i, p in enumerate(sb.page_ids)]
    oas = [common.BenchChannel(f"oa{i}", "zalo_oa", o) for i, o in enumerate(sb.oa_ids)]
    return pages[:PAGES] + oas[:OAS]


def queue_posts(engine: Any, config_path: Path, posts: list[tuple[str, list[bytes]]]) -> None:
    """Queue and approve each ``(title, images)`` to every channel, due in a few seconds.

    Through the real queue (validation included), as an officer would: the bench process
    decodes each photo once here, the daemon does the rest.
    """
    from content.queue import ImageInput, PostInput, Queue
    from scheduler.config import load

    directory = load(config_path).directory()
    channels = [f"page{i}" for i in range(PAGES)] + [f"oa{i}" for i in range(OAS)]
    author = Queue(engine, directory, actor=AUTHOR)
    chief = Queue(engine, directory, actor=APPROVER)
    due = common.utc_in(5)
    for n, (title, images) in enumerate(posts):
        request = PostInput(
            text=f"{title}\n\nBài thử số {n} của bench ảnh lớn: tuyên truyền bảo vệ an ninh.",
            title=title,
            channels=channels,
            images=[ImageInput(f"anh-{n}-{k}.{_ext(d)}", d) for k, d in enumerate(images)],
            at=due,
        )
        post = author.create(request, submit=True).post
        chief.approve(post.id or 0)


def _ext(data: bytes) -> str:
    return "png" if data.startswith(b"\x89PNG") else "jpg"


def wait_published(engine: Any, expected: int, daemon: common.DaemonProcess) -> float:
    """Seconds until ``expected`` deliveries are published; raises if they are not in time."""
    started = time.monotonic()
    deadline = started + PUBLISH_TIMEOUT_S
    while time.monotonic() < deadline:
        counts = common.delivery_counts(engine)
        if counts.get("published", 0) >= expected:
            return time.monotonic() - started
        if counts.get("failed", 0) or counts.get("needs_review", 0):
            raise RuntimeError(f"deliveries did not publish: {counts}; see {daemon.log_path}")
        assert daemon.proc is not None
        if daemon.proc.poll() is not None:
            raise RuntimeError(f"daemon exited; see {daemon.log_path}")
        time.sleep(0.2)
    raise TimeoutError(f"{common.delivery_counts(engine)} after {PUBLISH_TIMEOUT_S:.0f} s")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Baseline (text posts), then the photos; the daemon's peak RSS after each."""
    from content.db import open_database
    from sandbox.testing import running_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jpegs", type=int, default=3)
    parser.add_argument("--pngs", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="copy the database and daemon log here")
    args = parser.parse_args(argv)

    say(f"photos: generating {args.jpegs} phone JPEGs and {args.pngs} PNGs of 48 MP")
    photos = [phone_jpeg(seed) for seed in range(args.jpegs)] + [big_png()] * min(args.pngs, 1)
    sizes = [len(p) for p in photos]
    channels = PAGES + OAS
    with tempfile.TemporaryDirectory(prefix="loa-bench-photos-") as tmp:
        work = Path(tmp)
        media_dir = work / "media"
        media_dir.mkdir()
        with running_sandbox(
            seed=15, pages=PAGES, oas=OAS, media_dir=str(media_dir), verify_pending_polls=1
        ) as sb:
            cfg = work / "channels.toml"
            accounts = bench_channels(sb)
            common.write_platform_channels_toml(
                cfg, sb, accounts, media_dir=media_dir, timeout_seconds=60
            )
            db = work / "loa.db"
            engine = open_database(common.fresh_db(db))
            daemon = common.DaemonProcess.loa(
                db, cfg, common.platform_env(sb, accounts), work / "daemon.log", poll_seconds=1.0
            ).start()
            try:
                daemon.wait_for_log("started;")
                say(f"photos: baseline, {len(photos)} text-only posts to {channels} channels")
                queue_posts(engine, cfg, [(f"Bài chữ {n}", []) for n in range(len(photos))])
                text_seconds = wait_published(engine, len(photos) * channels, daemon)
                time.sleep(1.0)  # let the last delivery's commit and log settle
                baseline = daemon.stats()
                say(f"photos: baseline peak RSS {baseline.peak_rss_mb:.0f} MB; queueing photos")
                queue_posts(engine, cfg, [(f"Ảnh lớn {n}", [p]) for n, p in enumerate(photos)])
                photo_seconds = wait_published(engine, 2 * len(photos) * channels, daemon)
                time.sleep(1.0)
                after = daemon.stats()
            finally:
                daemon.stop()
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    for path in (db, work / "daemon.log"):
                        if path.exists():
                            shutil.copy2(path, args.keep / path.name)
            stored = sorted(p.stat().st_size for p in media_dir.iterdir() if p.is_file())
    peak = after.peak_rss_mb
    # Not ru_maxrss from wait4: Linux starts a forked child's maxrss at its parent's RSS, and
    # this process held the generated photos when it started the daemon.
    final = daemon.final.peak_rss_mb if daemon.final else peak
    figures = [
        Figure("photos (48 MP JPEG / PNG)", f"{args.jpegs} / {min(args.pngs, 1)}"),
        Figure("largest photo file", max(sizes) / 1e6, "MB"),
        Figure("deliveries per phase", len(photos) * channels),
        Figure("baseline: daemon peak RSS, text-only posts", baseline.peak_rss_mb, "MB"),
        check("photos: daemon peak RSS", peak, "MB", PEAK_RSS_LIMIT_MB),
        Figure("photos: peak RSS / baseline", round(peak / baseline.peak_rss_mb, 2), "x"),
        Figure("photos: publish time (all deliveries)", photo_seconds, "s"),
        Figure("baseline: publish time", text_seconds, "s"),
        Figure("largest image in the media store", (stored[-1] if stored else 0) / 1e6, "MB"),
    ]
    details = {
        "photo_bytes": sizes,
        "baseline_peak_rss_mb": baseline.peak_rss_mb,
        "photos_peak_rss_mb": peak,
        "wait4_ru_maxrss_mb (includes the parent at fork)": final,
        "photo_cpu_seconds": after.cpu_seconds - baseline.cpu_seconds,
        "cpus": os.cpu_count(),
    }
    return common.emit("photos", "Big photos (7)", figures, details)


if __name__ == "__main__":
    main()
