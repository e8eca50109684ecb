"""Scale: one daemon against three on PostgreSQL, then the whole country on paper.

1. **One against three daemons** (measured). A burst of ``--deliveries`` posts due at one
   second on ``--channels`` sandbox Pages (100-300 ms per request, 4 calls at once per Page,
   as in ``bench/dispatch.py``) is drained by one ``loa daemon`` on a PostgreSQL database;
   then another burst by three daemons sharing that database (claims with SKIP LOCKED).
   Figures: time to drain, deliveries per second, CPU per delivery (all daemons together),
   and three's throughput against one's. The sandbox runs in this process: on a 2-core
   machine the daemons share the cores with it, which production does not (the platforms are
   elsewhere), so the figures are a floor for a real office.
2. **The country on paper** (computed from 1). 6,600 channels (a Page and an OA for each of
   the country's ~3,300 province, ward and commune units), 66,000 posts a week (10 per channel,
   2 each weekday), and the worst morning: a weekday's 13,200 all due at 07:30. Figures: the
   floor for that burst (an ideal dispatcher that costs nothing, the same per-call latencies
   and 4 calls at once per channel), the time one and three daemons would take at the
   throughput measured in 1, and the CPU seconds the burst costs at one daemon's CPU per
   delivery.

    python bench/scale.py [--deliveries 3000] [--channels 100]

Prints a table and writes bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/scale.py`
from cryptography.fernet import Fernet
from dispatch import LATENCY_MS, PER_CHANNEL, latency_floor, plan

COUNTRY_CHANNELS = 6_600
COUNTRY_POSTS_A_WEEK = 66_000
WEEKDAYS = 5
#: Seconds between queueing a burst and its due time: every daemon's 1-second poll sees it.
LEAD_SECONDS = 6


@dataclass(frozen=True)
class Drain:
    """One burst drained by ``daemons`` daemons."""

    daemons: int
    published: int
    expected: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        """Deliveries published per second of the drain."""
        return self.published / self.seconds if self.seconds > 0 else float("nan")

    @property
    def cpu_ms_per_delivery(self) -> float:
        """CPU of all daemons together per published delivery, in ms."""
        return 1000 * self.cpu_seconds / max(1, self.published)


def drain_with(
    daemons: int, url: str, cfg: Path, env: dict[str, str], work: Path, n: int, channels: int
) -> Drain:
    """Start ``daemons`` daemons on ``url``, queue a burst of ``n``, wait until it is out."""
    from sqlmodel import Session, col, func, select

    from content.db import open_database
    from content.models import Delivery

    engine = open_database(url)
    with Session(engine) as session:
        first = (session.exec(select(func.max(Delivery.id))).one() or 0) + 1
    argv = [sys.executable, "-m", "scheduler.cli", "daemon", "--db", url, "--config", str(cfg)]
    argv += ["--poll-seconds", "1"]
    fleet = [
        common.DaemonProcess(argv, env, work / f"daemons{daemons}-{i}.log").start()
        for i in range(daemons)
    ]
    try:
        for daemon in fleet:
            daemon.wait_for_log("started;", timeout=60)
        due = common.utc_in(LEAD_SECONDS).replace(microsecond=0)
        common.say(f"{daemons} daemon(s): a burst of {n} due at {due:%H:%M:%S}")
        common.bulk_posts(engine, plan(n, channels, due, 0, f"scale{daemons}"))
        before = sum(d.stats().cpu_seconds for d in fleet)

        def published() -> tuple[int, datetime | None]:
            with Session(engine) as session:
                count, last = session.exec(
                    select(func.count(), func.max(Delivery.published_at))
                    .where(col(Delivery.id) >= first)
                    .where(Delivery.state == "published")
                ).one()
            return count, last

        common.wait_until(lambda: published()[0] >= n, LEAD_SECONDS + 300, every=0.5)
        cpu = sum(d.stats().cpu_seconds for d in fleet) - before
        count, last = published()
    finally:
        for daemon in fleet:
            daemon.stop()
        engine.dispose()
    seconds = (last.replace(tzinfo=due.tzinfo) - due).total_seconds() if last else float("nan")
    return Drain(daemons, count, n, seconds, cpu)


def country(one: Drain, three: Drain) -> dict[str, float]:
    """A weekday morning of the whole country, at the throughput measured."""
    burst = COUNTRY_POSTS_A_WEEK // WEEKDAYS
    floor = latency_floor(burst, COUNTRY_CHANNELS, PER_CHANNEL, trials=20)
    return {
        "burst": burst,
        "floor_seconds": floor,
        "one_daemon_seconds": max(floor, burst / one.per_second),
        "three_daemons_seconds": max(floor, burst / three.per_second),
        "cpu_seconds": burst * one.cpu_ms_per_delivery / 1000,
    }


def main() -> None:
    """Run both drains against one sandbox and one PostgreSQL database; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--keep", type=Path, help="copy the daemons' logs here")
    args = parser.parse_args()
    from sandbox.testing import running_sandbox

    n, channels = args.deliveries, args.channels
    with (
        tempfile.TemporaryDirectory(prefix="loa-scale-") as tmp,
        running_sandbox(
            seed=13,
            pages=channels,
            graph_call_budget=10**9,
            faults={"*": {"latency_ms": list(LATENCY_MS)}},
        ) as sb,
        common.postgres_database(f"loa_scale_{os.getpid()}") as url,
    ):
        work = Path(tmp)
        pages = sb.page_ids[:channels]
        cfg = work / "channels.toml"
        common.write_channels_toml(cfg, sb.graph_url, pages, max_concurrency=PER_CHANNEL)
        env = common.token_env(sb, pages)
        # PostgreSQL has no default credential key: the inbox job would log its absence.
        env["LOA_CREDENTIAL_KEY"] = Fernet.generate_key().decode()
        t0 = time.monotonic()
        one = drain_with(1, url, cfg, env, work, n, channels)
        three = drain_with(3, url, cfg, env, work, n, channels)
        wall = time.monotonic() - t0
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for log in work.glob("daemons*.log"):
                shutil.copy(log, args.keep / log.name)
    paper = country(one, three)
    floor = latency_floor(n, channels, PER_CHANNEL, trials=50)
    figures = [
        common.Figure("burst: deliveries, Pages", f"{n:,}, {channels}"),
        common.Figure("burst: floor (ideal dispatcher, these latencies)", f"{floor:.2f} s"),
    ]
    for drain in (one, three):
        label = f"{drain.daemons} daemon{'s' if drain.daemons > 1 else ''} (PostgreSQL)"
        figures += [
            common.Figure(f"{label}: published", f"{drain.published}/{drain.expected}"),
            common.Figure(f"{label}: time to drain", f"{drain.seconds:.2f} s"),
            common.Figure(f"{label}: deliveries per second", f"{drain.per_second:.0f} /s"),
            common.Figure(
                f"{label}: CPU per delivery (all daemons)", f"{drain.cpu_ms_per_delivery:.2f} ms"
            ),
        ]
    figures += [
        common.Figure(
            "three daemons / one: throughput", f"{three.per_second / one.per_second:.2f} x"
        ),
        common.Figure(
            "country: a weekday's posts due at 07:30",
            f"{paper['burst']:,} on {COUNTRY_CHANNELS:,} channels",
        ),
        common.Figure("country: floor for that burst", f"{paper['floor_seconds']:.2f} s"),
        common.Figure(
            "country: one daemon at the rate measured", f"{paper['one_daemon_seconds']:.0f} s"
        ),
        common.Figure(
            "country: three daemons at the rate measured",
            f"{paper['three_daemons_seconds']:.0f} s",
        ),
        common.Figure(
            "country: CPU for that burst (one daemon's per delivery)",
            f"{paper['cpu_seconds']:.0f} s",
        ),
        common.Figure("wall time", f"{wall:.0f} s"),
    ]
    details: dict[str, Any] = {
        "one": one.__dict__ | {"per_second": one.per_second},
        "three": three.__dict__ | {"per_second": three.per_second},
        "country": paper,
        "floor_seconds": floor,
    }
    common.emit("scale", "Scale: one and three daemons, the country", figures, details)


if __name__ == "__main__":
    main()
