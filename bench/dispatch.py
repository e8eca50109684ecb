"""Dispatch punctuality and cost: `loa daemon` vs one APScheduler date job per delivery.

Two phases against a sandbox with 50 Pages (100-300 ms per request):

1. *spread*: 1,000 deliveries due over one minute, round-robin over the Pages: lateness of
   each first attempt after its due time (p50/p99/max);
2. *burst*: 1,000 deliveries due in the same second: time to drain, against the floor set
   by per-channel concurrency and latency: the expected time an ideal dispatcher (no CPU
   cost at all) needs with these latencies, and what bare httpx clients need on this
   machine (``bench/bare_client.py``, the same burst with no database).

The daemon is the real ``loa daemon`` in a subprocess, so its CPU time (/proc, then wait4
rusage) and peak RSS are its own; the sandbox runs in this process. A burst's CPU is
counted from two seconds before its due time to its last result (not the idle seconds
before it, which bare httpx does not have either). Lateness comes from
the daemon's own log lines (``lateness=`` is measured when the attempt starts); drain
time from the ``published_at`` the daemon committed. The same load then goes through
``bench/alt_apscheduler.py``.

    python bench/dispatch.py [--deliveries 1000] [--channels 50] [--no-alt]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import re
import signal
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/dispatch.py`
from common import Figure, Planned, check, percentile, say

LATENCY_MS = (100, 300)
#: A burst's CPU is counted from this many seconds before its due time (Loa claims a second
#: ahead), so that the idle seconds before it are not charged to its deliveries.
BURST_CPU_FROM = 2.0
PER_CHANNEL = 4
LOG_LINE = re.compile(r"delivery=(\d+) channel=\S+ outcome=(\S+) latency=\S+s lateness=([-\d.]+)s")


@dataclass
class PhaseResult:
    """One phase of one implementation."""

    lateness: list[float]
    published: int
    expected: int
    drain_seconds: float
    cpu_seconds: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "published": self.published,
            "expected": self.expected,
            "lateness_p50": percentile(self.lateness, 0.5),
            "lateness_p99": percentile(self.lateness, 0.99),
            "lateness_max": max(self.lateness, default=0.0),
            "drain_seconds": self.drain_seconds,
            "cpu_seconds": self.cpu_seconds,
            "cpu_ms_per_delivery": 1000 * self.cpu_seconds / max(1, self.published),
        }


@dataclass
class RunResult:
    """Both phases of one implementation, plus its peak RSS."""

    spread: PhaseResult
    burst: PhaseResult
    peak_rss_mb: float
    startup_cpu_seconds: float
    missed: int = 0


def plan(n: int, channels: int, start: datetime, spread_s: float, tag: str) -> list[Planned]:
    """``n`` posts round-robin over ``channels``; due evenly over ``spread_s`` (0 = a burst)."""
    return [
        Planned(
            text=f"[{tag} {i}] Cảnh giác lừa đảo qua mạng – bài tuyên truyền số {i}",
            channel=f"page{i % channels}",
            due=start + timedelta(seconds=spread_s * i / n),
        )
        for i in range(n)
    ]


# ---------------------------------------------------------------------- Loa


def run_loa(
    sb: Any, work: Path, n: int, channels: int, spread_s: float, profile: Path | None = None
) -> RunResult:
    """Both phases through ``loa daemon`` (with ``profile``: py-spy samples the burst)."""
    from sqlmodel import Session, col, func, select

    from content.db import open_database
    from content.models import Delivery

    pages = sb.page_ids[:channels]
    cfg = work / "channels.toml"
    common.write_channels_toml(cfg, sb.graph_url, pages, max_concurrency=PER_CHANNEL)
    db = work / "loa.db"
    engine = open_database(common.fresh_db(db))

    def max_id() -> int:
        with Session(engine) as s:
            return s.exec(select(func.max(Delivery.id))).one() or 0

    def published_in(lo: int, hi: int) -> tuple[int, datetime | None]:
        with Session(engine) as s:
            count, last = s.exec(
                select(func.count(), func.max(Delivery.published_at))
                .where(col(Delivery.id) > lo, col(Delivery.id) <= hi)
                .where(Delivery.state == "published")
            ).one()
        return count, last

    say(f"loa: queueing {n} posts due over {spread_s:.0f} s")
    t0 = common.utc_in(8)
    common.bulk_posts(engine, plan(n, channels, t0, spread_s, "loa-spread"))
    spread_ids = (0, max_id())
    daemon = common.DaemonProcess.loa(
        db, cfg, common.token_env(sb, pages), work / "loa-daemon.log", poll_seconds=5.0
    ).start()
    try:
        daemon.wait_for_log("started;")
        s0 = daemon.stats()
        common.wait_until(lambda: published_in(*spread_ids)[0] >= n, spread_s + 60)
        s1 = daemon.stats()
        # Burst: all due at one second, queued while the daemon runs (it notices at its poll).
        t1 = common.utc_in(12).replace(microsecond=0)
        say(f"loa: queueing a burst of {n} due at {t1:%H:%M:%S}")
        common.bulk_posts(engine, plan(n, channels, t1, 0, "loa-burst"))
        burst_ids = (spread_ids[1], max_id())
        # The burst's CPU from just before its claim (a second ahead of its due time), not
        # the idle seconds before it: bare httpx is measured over its requests alone.
        _sleep_until(t1 - timedelta(seconds=BURST_CPU_FROM))
        s1_burst = daemon.stats()
        spy = _py_spy(daemon.pid, profile, t1) if profile else None
        common.wait_until(lambda: published_in(*burst_ids)[0] >= n, 12 + 120)
        s2 = daemon.stats()
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            spy.wait(timeout=60)
    finally:
        daemon.stop()
    spread_late, burst_late = _log_lateness(daemon.log_path, spread_ids, burst_ids)
    published_spread, _ = published_in(*spread_ids)
    published_burst, last = published_in(*burst_ids)
    drain = (last.replace(tzinfo=UTC) - t1).total_seconds() if last else float("nan")
    assert daemon.final is not None
    return RunResult(
        spread=PhaseResult(spread_late, published_spread, n, 0.0, s1.cpu_seconds - s0.cpu_seconds),
        burst=PhaseResult(
            burst_late, published_burst, n, drain, s2.cpu_seconds - s1_burst.cpu_seconds
        ),
        peak_rss_mb=daemon.final.peak_rss_mb,
        startup_cpu_seconds=s0.cpu_seconds,
    )


def _sleep_until(when: datetime) -> None:
    """Sleep until ``when`` (UTC); at once when it has passed."""
    time.sleep(max(0.0, (when - common.utc_in(0)).total_seconds()))


def _py_spy(pid: int, out: Path, start: datetime) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` from shortly before ``start`` (the burst's due second)."""
    time.sleep(max(0.0, (start - common.utc_in(0)).total_seconds() - 0.5))
    say(f"py-spy: sampling the daemon into {out}")
    fmt = "speedscope" if out.suffix == ".json" else "raw" if out.suffix == ".txt" else "flamegraph"
    return subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--rate", "250", "--format", fmt, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def latency_floor(n: int, channels: int, per_channel: int, trials: int = 200) -> float:
    """Expected drain of a burst for a dispatcher that costs nothing, with these latencies.

    Each channel's calls go out as soon as one of its slots is free, each call taking a
    latency drawn like the sandbox's; the burst ends with the slowest channel. The naive
    ``n / (channels x per_channel) x mean latency`` ignores that spread and is reached by
    no dispatcher: with 100-300 ms calls, 1.0 s where the ideal takes about 1.26 s.
    """
    rng = random.Random(20261123)
    lo, hi = (ms / 1000 for ms in LATENCY_MS)
    total = 0.0
    for _ in range(trials):
        slowest = 0.0
        for channel in range(channels):
            slots = [0.0] * per_channel
            for _ in range(channel, n, channels):  # this channel's share of the burst
                heapq.heappush(slots, heapq.heappop(slots) + rng.uniform(lo, hi))
            slowest = max(slowest, max(slots))
        total += slowest
    return total / trials


def run_bare(sb: Any, work: Path, n: int, channels: int) -> dict[str, float]:
    """The same burst through bare httpx clients in their own process (no database)."""
    pages = sb.page_ids[:channels]
    pages_file = work / "bare-pages.json"
    pages_file.write_text(json.dumps([[p, sb.page_token(p)] for p in pages]))
    say(f"bare httpx: a burst of {n} posts, {PER_CHANNEL} per Page at once")
    out = subprocess.run(
        [
            common.sys.executable,
            str(common.BENCH_DIR / "bare_client.py"),
            "--graph-url",
            f"{sb.graph_url}/v21.0",
            "--pages",
            str(pages_file),
            "--deliveries",
            str(n),
            "--per-channel",
            str(PER_CHANNEL),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def _log_lateness(
    log: Path, spread: tuple[int, int], burst: tuple[int, int]
) -> tuple[list[float], list[float]]:
    """First-attempt lateness per delivery, from the daemon's log lines."""
    seen: dict[int, float] = {}
    for match in LOG_LINE.finditer(log.read_text(errors="replace")):
        seen.setdefault(int(match[1]), float(match[3]))
    pick = lambda lo, hi: [v for k, v in seen.items() if lo < k <= hi]  # noqa: E731
    return pick(*spread), pick(*burst)


# ---------------------------------------------------------------------- the alternative


def run_alt(sb: Any, work: Path, n: int, channels: int, spread_s: float) -> RunResult:
    """Both phases through one APScheduler date job per delivery."""
    pages = sb.page_ids[:channels]
    db = work / "alt.sqlite"
    common.fresh_db(db)
    t0 = common.utc_in(10)
    t1 = t0 + timedelta(seconds=spread_s + 20)
    planned = plan(n, channels, t0, spread_s, "alt-spread")
    planned += plan(n, channels, t1.replace(microsecond=0), 0.0, "alt-burst")
    argv = _alt_argv(sb, pages, work, db, planned)
    say(f"alt: {2 * n} date jobs in a SQLAlchemyJobStore (spread, then a burst)")
    proc = common.DaemonProcess(argv, common.token_env(sb, pages), work / "alt.log").start()

    def done(lo: int, hi: int) -> int:
        return _alt_done(db, lo, hi)

    def settled(lo: int, hi: int, last_due: datetime) -> bool:
        # Missed jobs never run: stop when all ran, or well after the last due time.
        return done(lo, hi) >= hi - lo or common.utc_in(0) > last_due + timedelta(seconds=15)

    try:
        proc.wait_for_log("started;", timeout=120)
        s0 = proc.stats()
        t_spread_end = t0 + timedelta(seconds=spread_s)
        common.wait_until(lambda: settled(0, n, t_spread_end), (t1 - common.utc_in(0)).seconds)
        s1 = proc.stats()
        _sleep_until(t1 - timedelta(seconds=BURST_CPU_FROM))
        s1_burst = proc.stats()
        common.wait_until(lambda: settled(n, 2 * n, t1), 300)
        # The burst drains at 10 threads: keep waiting while results still arrive.
        last = -1
        while done(n, 2 * n) != last:
            last = done(n, 2 * n)
            time.sleep(2)
        s2 = proc.stats()
    finally:
        proc.stop()
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT id, lateness, finished, status FROM results").fetchall()
    missed = proc.log_path.read_text(errors="replace").count("was missed by")
    phases = []
    for lo, hi, start, cpu in (
        (0, n, t0, s1.cpu_seconds - s0.cpu_seconds),
        (n, 2 * n, t1.replace(microsecond=0), s2.cpu_seconds - s1_burst.cpu_seconds),
    ):
        mine = [r for r in rows if lo < r[0] <= hi]
        ok = [r for r in mine if r[3] == "published"]
        drain = max((r[2] for r in ok), default=start.timestamp()) - start.timestamp()
        phases.append(PhaseResult([r[1] for r in mine], len(ok), n, drain, cpu))
    assert proc.final is not None
    return RunResult(phases[0], phases[1], proc.final.peak_rss_mb, s0.cpu_seconds, missed)


def run_alt_burst(sb: Any, work: Path, n: int, channels: int, grace: float) -> RunResult:
    """The burst alone through the alternative with a misfire grace long enough to run all."""
    pages = sb.page_ids[:channels]
    db = work / "alt-grace.sqlite"
    common.fresh_db(db)
    t1 = common.utc_in(10).replace(microsecond=0)
    argv = _alt_argv(sb, pages, work, db, plan(n, channels, t1, 0.0, "alt-grace"))
    argv += ["--misfire-grace", str(grace)]
    say(f"alt: a burst of {n} date jobs with misfire_grace_time={grace:g}")
    proc = common.DaemonProcess(argv, common.token_env(sb, pages), work / "alt-grace.log")
    proc.start()
    try:
        proc.wait_for_log("started;", timeout=120)
        _sleep_until(t1 - timedelta(seconds=BURST_CPU_FROM))
        s0 = proc.stats()
        common.wait_until(lambda: _alt_done(db, 0, n) >= n, 10 + n * 0.05 + 60, 0.5)
        s1 = proc.stats()
    finally:
        proc.stop()
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT lateness, finished, status FROM results").fetchall()
    ok = [r for r in rows if r[2] == "published"]
    drain = max((r[1] for r in ok), default=t1.timestamp()) - t1.timestamp()
    burst = PhaseResult([r[0] for r in rows], len(ok), n, drain, s1.cpu_seconds - s0.cpu_seconds)
    assert proc.final is not None
    empty = PhaseResult([], 0, 0, 0.0, 0.0)
    return RunResult(empty, burst, proc.final.peak_rss_mb, s0.cpu_seconds)


def _alt_argv(sb: Any, pages: list[str], work: Path, db: Path, planned: list[Planned]) -> list[str]:
    """Write the alternative's plan file (ids from 1) and return its command line."""
    items = []
    for i, p in enumerate(planned):
        page = pages[int(p.channel.removeprefix("page"))]
        items.append(
            {
                "id": i + 1,
                "page_id": page,
                "token": sb.page_token(page),
                "message": p.text,
                "due": p.due.timestamp(),
            }
        )
    plan_file = db.with_suffix(".json")
    plan_file.write_text(json.dumps(items))
    script = str(common.BENCH_DIR / "alt_apscheduler.py")
    return [common.sys.executable, script, "--db", str(db), "--deliveries", str(plan_file)] + [
        "--graph-url",
        sb.graph_url,
    ]


def _alt_done(db: Path, lo: int, hi: int) -> int:
    """Results the alternative recorded for ids in (lo, hi]."""
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return c.execute(
                "SELECT count(*) FROM results WHERE id > ? AND id <= ?", (lo, hi)
            ).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


# ---------------------------------------------------------------------- report


def figures(
    loa: RunResult,
    bare: dict[str, float],
    alt: RunResult | None,
    grace: RunResult | None,
    n: int,
    channels: int,
) -> list[Figure]:
    """The table: Loa's figures against the targets, then the alternative and the ratios."""
    naive = n / (channels * PER_CHANNEL) * sum(LATENCY_MS) / 2 / 1000
    floor = latency_floor(n, channels, PER_CHANNEL)
    s, b = loa.spread.summary(), loa.burst.summary()
    out = [
        Figure("spread: published", f"{loa.spread.published}/{n}"),
        Figure("spread: lateness p50", s["lateness_p50"] * 1000, "ms"),
        # Issue #21: leave on the millisecond (under 20 ms, and within 2x the alternative).
        check("spread: lateness p99", s["lateness_p99"], "s", 0.020),
        Figure("spread: lateness max", s["lateness_max"], "s"),
        Figure("burst: published", f"{loa.burst.published}/{n}"),
        Figure(
            "burst: n/(channels x concurrency) x mean latency (no dispatcher reaches it)",
            naive,
            "s",
        ),
        Figure("burst: floor (ideal dispatcher, no CPU cost, these latencies)", floor, "s"),
        Figure(
            f"burst: bare httpx clients, no database ({bare['published']:.0f}/{n} published)",
            bare["drain_seconds"],
            "s",
        ),
        Figure("burst: bare httpx CPU per request", 1000 * bare["cpu_seconds"] / max(1, n), "ms"),
        Figure("burst: time to drain", b["drain_seconds"], "s"),
        check("burst: drain / floor", b["drain_seconds"] / floor, "x", 1.3),
        check(
            "burst: drain / bare httpx drain", b["drain_seconds"] / bare["drain_seconds"], "x", 1.2
        ),
        Figure("burst: deliveries per second", n / b["drain_seconds"], "/s"),
        check("burst: CPU per delivery", b["cpu_ms_per_delivery"], "ms", 3.0),
        check(
            "burst: CPU per delivery / bare httpx CPU per request",
            b["cpu_ms_per_delivery"] / max(1e-9, 1000 * bare["cpu_seconds"] / max(1, n)),
            "x",
            1.3,
        ),
        Figure("spread: CPU per delivery (incl. idle waits)", s["cpu_ms_per_delivery"], "ms"),
        check("daemon peak RSS", loa.peak_rss_mb, "MB", 150.0),
        Figure("daemon start-up CPU", loa.startup_cpu_seconds, "s"),
    ]
    if alt is not None:
        a_s, a_b = alt.spread.summary(), alt.burst.summary()
        out += [
            Figure("alt: spread published", f"{alt.spread.published}/{n}"),
            Figure("alt: spread lateness p50", a_s["lateness_p50"] * 1000, "ms"),
            Figure("alt: spread lateness p99", a_s["lateness_p99"], "s"),
            check(
                "spread: lateness p99 / alt: spread lateness p99",
                s["lateness_p99"] / max(1e-9, a_s["lateness_p99"]),
                "x",
                2.0,
            ),
            Figure("alt: burst published (rest missed: grace 1 s)", f"{alt.burst.published}/{n}"),
            Figure("alt: missed runs logged", alt.missed),
            Figure("alt: burst time to last publish", a_b["drain_seconds"], "s"),
            Figure(
                "alt: burst CPU per job (run or missed)", 1000 * alt.burst.cpu_seconds / n, "ms"
            ),
            Figure("alt: peak RSS", alt.peak_rss_mb, "MB"),
            Figure(
                "ratio alt/loa: spread lateness p99",
                a_s["lateness_p99"] / max(1e-9, s["lateness_p99"]),
                "x",
            ),
            Figure(
                "ratio alt/loa: spread CPU per delivery",
                a_s["cpu_ms_per_delivery"] / max(1e-9, s["cpu_ms_per_delivery"]),
                "x",
            ),
            Figure("ratio alt/loa: peak RSS", alt.peak_rss_mb / loa.peak_rss_mb, "x"),
        ]
    if grace is not None:
        g = grace.burst.summary()
        out += [
            Figure("alt (grace 1 h): burst published", f"{grace.burst.published}/{n}"),
            Figure("alt (grace 1 h): burst time to drain", g["drain_seconds"], "s"),
            Figure("alt (grace 1 h): burst lateness p99", g["lateness_p99"], "s"),
            Figure("alt (grace 1 h): burst CPU per delivery", g["cpu_ms_per_delivery"], "ms"),
            Figure(
                "ratio alt (grace 1 h)/loa: burst drain",
                g["drain_seconds"] / max(1e-9, b["drain_seconds"]),
                "x",
            ),
            Figure(
                "ratio alt (grace 1 h)/loa: burst CPU per delivery",
                g["cpu_ms_per_delivery"] / max(1e-9, b["cpu_ms_per_delivery"]),
                "x",
            ),
        ]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run both implementations against one sandbox and report."""
    from sandbox.testing import running_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--spread-seconds", type=float, default=60.0)
    parser.add_argument("--no-alt", action="store_true", help="skip the APScheduler alternative")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the daemon during the burst into this file (.svg flame graph, .txt raw)",
    )
    args = parser.parse_args(argv)
    n, channels, spread_s = args.deliveries, args.channels, args.spread_seconds
    with (
        tempfile.TemporaryDirectory(prefix="loa-bench-dispatch-") as tmp,
        running_sandbox(
            seed=11,
            pages=channels,
            graph_call_budget=10**9,
            faults={"*": {"latency_ms": list(LATENCY_MS)}},
        ) as sb,
    ):
        work = Path(tmp)
        loa = run_loa(sb, work, n, channels, spread_s, args.profile)
        bare = run_bare(sb, work, n, channels)
        alt = None if args.no_alt else run_alt(sb, work, n, channels, spread_s)
        grace = None if args.no_alt else run_alt_burst(sb, work, n, channels, 3600.0)
    details: dict[str, Any] = {
        "deliveries": n,
        "channels": channels,
        "per_channel_concurrency": PER_CHANNEL,
        "latency_ms": LATENCY_MS,
        "loa": {
            "spread": loa.spread.summary(),
            "burst": loa.burst.summary(),
            "peak_rss_mb": loa.peak_rss_mb,
        },
        "bare_httpx_burst": bare,
    }
    if alt is not None:
        details["alt"] = {
            "spread": alt.spread.summary(),
            "burst": alt.burst.summary(),
            "peak_rss_mb": alt.peak_rss_mb,
            "missed": alt.missed,
        }
    if grace is not None:
        details["alt_grace_1h"] = {"burst": grace.burst.summary(), "peak_rss_mb": grace.peak_rss_mb}
    return common.emit(
        "dispatch", "Dispatch punctuality (1)", figures(loa, bare, alt, grace, n, channels), details
    )


if __name__ == "__main__":
    main()
