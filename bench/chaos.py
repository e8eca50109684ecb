"""Chaos: 2,000 deliveries through 5xx, timeouts, an expired token and 10 SIGKILLs; exactly once?

The sandbox answers 10% of requests with a 5xx and holds 2% past the client's timeout
(``hang_s`` 1.5 s against ``timeout_seconds = 1``); one Page's token is reported expired
for a while, then works again (the daemon pauses that channel, then resumes it through its
channel-health job). The daemon (``bench/chaos_daemon.py``: ``loa daemon`` with retry
back-off and health checks scaled down) is killed with SIGKILL ten times at random moments,
then left to finish. The sandbox's own record of what it received (messages are unique per
post) is then compared with the database: a published delivery must be on its Page exactly
once, a needs_review one at most once; nothing may be missing.

    python bench/chaos.py [--deliveries 2000] [--kills 10]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/chaos.py`
from common import Figure, Planned, say

CHANNELS = 20
FAULTS: dict[str, Any] = {
    "latency_ms": [50, 150],
    "error_rate": 0.10,
    "timeout_rate": 0.02,
    "hang_s": 1.5,
}
CLIENT_TIMEOUT_S = 1.0
SPREAD_SECONDS = 20.0
#: The expired-token window, in seconds after the first daemon starts.
EXPIRY = (6.0, 21.0)
EXPIRED_PAGE = 3
SETTLE_TIMEOUT_S = 240.0
RECOVERED = re.compile(r"recovered (\d+) deliveries left sending")


def expire_token_for_a_while(sb: Any, page: str, stop: threading.Event) -> list[str]:
    """In a thread: report the page's token expired during EXPIRY, then restore its faults."""
    events: list[str] = []

    def run() -> None:
        t0 = time.monotonic()
        if stop.wait(EXPIRY[0]):
            return
        sb.set_faults(page, **FAULTS, auth="expired")
        events.append(f"{time.monotonic() - t0:.1f}s: token of {page} expired")
        stop.wait(EXPIRY[1] - EXPIRY[0])
        sb.clear_faults(page)  # back to the "*" faults: the token works again
        events.append(f"{time.monotonic() - t0:.1f}s: token of {page} works again")

    threading.Thread(target=run, name="token-expiry", daemon=True).start()
    return events


def verdict(engine: Any, sb: Any, pages: list[str]) -> dict[str, Any]:
    """Compare the database with what the sandbox received."""
    from sqlmodel import Session, select

    from content.models import Alert, ChannelState, Delivery, Post

    received: Counter[tuple[str, str]] = Counter()
    for page in pages:
        for post in sb.posts(page):
            received[(page, post["payload"].get("message"))] += 1
    with Session(engine) as session:
        deliveries = session.exec(select(Delivery)).all()
        text_of = {p.id: p.text for p in session.exec(select(Post)).all()}
        alerts = Counter(a.kind for a in session.exec(select(Alert)).all())
        still_paused = [c.channel for c in session.exec(select(ChannelState)).all() if c.paused]
    states = Counter(str(d.state) for d in deliveries)
    lost = doubled = review_on_page = 0
    doubled_ids: list[int] = []
    expected = set()
    for d in deliveries:
        key = (pages[int(d.channel.removeprefix("page"))], text_of[d.post_id])
        expected.add(key)
        copies = received[key]
        if copies > 1:
            doubled += 1
            doubled_ids.append(d.id or 0)
        if d.state == "published" and copies == 0:
            lost += 1
        elif d.state == "needs_review":
            review_on_page += copies
        elif d.state not in ("published", "needs_review"):
            lost += 1  # pending, sending or failed: never reached its Page
    strays = sum(n for key, n in received.items() if key not in expected)
    unsettled = [
        {
            "id": d.id,
            "channel": d.channel,
            "state": d.state,
            "attempts": d.attempts,
            "next_attempt_at": str(d.next_attempt_at),
            "error": f"{d.last_error_class} {d.last_error_code} {d.last_error_message}",
            "on_page": received[(pages[int(d.channel.removeprefix("page"))], text_of[d.post_id])],
        }
        for d in deliveries
        if d.state not in ("published",)
    ]
    return {
        "states": dict(states),
        "lost": lost,
        "doubled": doubled,
        "doubled_deliveries": doubled_ids,
        "needs_review": states["needs_review"],
        "needs_review_found_on_page": review_on_page,
        "on_platform": sum(received.values()),
        "strays": strays,
        "alerts": dict(alerts),
        "still_paused": still_paused,
        "unsettled": unsettled[:50],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the chaos scenario and check exactly-once delivery."""
    from content.db import open_database
    from sandbox.testing import running_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--keep", type=Path, help="copy the database and daemon log here")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="loa-bench-chaos-") as tmp,
        running_sandbox(
            seed=14, pages=CHANNELS, graph_call_budget=10**9, faults={"*": FAULTS}
        ) as sb,
    ):
        work = Path(tmp)
        pages = sb.page_ids[:CHANNELS]
        cfg = work / "channels.toml"
        common.write_channels_toml(cfg, sb.graph_url, pages, timeout_seconds=CLIENT_TIMEOUT_S)
        db = work / "loa.db"
        engine = open_database(common.fresh_db(db))
        start = common.utc_in(3)
        n = args.deliveries
        common.bulk_posts(
            engine,
            [
                Planned(
                    f"[chaos {i}] Cảnh giác lừa đảo qua mạng – bài số {i}",
                    f"page{i % CHANNELS}",
                    start + timedelta(seconds=SPREAD_SECONDS * i / n),
                )
                for i in range(n)
            ],
        )
        env = common.token_env(sb, pages)
        argv_ = [sys.executable, str(common.BENCH_DIR / "chaos_daemon.py")]
        argv_ += ["--db", str(db), "--config", str(cfg), "--poll-seconds", "1"]
        log = work / "daemon.log"
        stop = threading.Event()
        t0 = time.monotonic()
        events = expire_token_for_a_while(sb, pages[EXPIRED_PAGE], stop)
        kills: list[float] = []
        try:
            for k in range(args.kills):
                daemon = common.DaemonProcess(argv_, env, log).start()
                time.sleep(rng.uniform(1.5, 4.0))  # a random moment: start-up or mid-work
                daemon.stop(signal.SIGKILL)
                kills.append(time.monotonic() - t0)
                say(f"chaos: kill {k + 1}/{args.kills}: {common.open_waiting(engine)} waiting")
            daemon = common.DaemonProcess(argv_, env, log).start()
            common.wait_until(lambda: common.open_waiting(engine) == 0, SETTLE_TIMEOUT_S, 0.5)
            # The channel-health job must have resumed the paused Page before we stop.
            status = daemon.stop()
        finally:
            stop.set()
        seconds = time.monotonic() - t0
        result = verdict(engine, sb, pages)
        text = log.read_text(errors="replace")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for path in (log, cfg):
                shutil.copy(path, args.keep / path.name)
            # A consistent copy: the newest commits may still be in the write-ahead log.
            with sqlite3.connect(db) as source, sqlite3.connect(args.keep / db.name) as copy:
                source.backup(copy)
    recovered = sum(int(m[1]) for m in RECOVERED.finditer(text))
    paused = result["alerts"].get("channel_paused", 0)
    figures = [
        Figure("deliveries", n),
        Figure("SIGKILLs of the daemon", len(kills)),
        Figure("deliveries found `sending` after a kill", recovered),
        Figure("published", result["states"].get("published", 0)),
        Figure("lost", result["lost"], "", "0", result["lost"] == 0),
        Figure("doubled", result["doubled"], "", "0", result["doubled"] == 0),
        Figure("needs_review", result["needs_review"], "", "0", result["needs_review"] == 0),
        Figure("failed", result["states"].get("failed", 0)),
        Figure("posts on the Pages (sandbox)", result["on_platform"]),
        Figure(
            "token expiry: channel paused, then resumed",
            f"{paused} pause(s); paused at the end: {result['still_paused'] or 'none'}",
            "",
            "paused then resumed",
            paused >= 1 and not result["still_paused"],
        ),
        Figure("final daemon exit status", status),
        Figure("wall time", seconds, "s"),
    ]
    details = {
        **result,
        "kills_at_s": kills,
        "expiry": events,
        "recovered": recovered,
        "faults": FAULTS,
        "seconds": seconds,
    }
    return common.emit("chaos", "Chaos: faults, token expiry, SIGKILLs (6)", figures, details)


if __name__ == "__main__":
    main()
