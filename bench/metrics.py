"""Metrics refresh: 10,000 published Facebook posts, how many HTTP calls and how long.

The posts are created on 50 sandbox Pages (through Graph batch requests, as setup), stored
in Loa's database as published deliveries two hours old (due for a refresh), then
``scheduler.metrics.collect`` refreshes them all through the real Facebook clients. HTTP
calls are counted twice: by an httpx transport wrapped around the clients' own, and by the
sandbox's request log (outer batch requests).

    python bench/metrics.py [--posts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/metrics.py`
import httpx
from common import Figure, Planned, say

CHANNELS = 50
BATCH = 50


class CountingTransport(httpx.AsyncBaseTransport):
    """The default transport, counting every HTTP request the clients send."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.count = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, then send."""
        self.count += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.inner.aclose()


def publish_on_sandbox(sb: Any, pages: list[str], per_page: int) -> list[tuple[str, str, str]]:
    """Create ``per_page`` posts on each Page (batches of 50); returns (channel, text, id)."""
    created: list[tuple[str, str, str]] = []
    with httpx.Client(base_url=sb.graph_url, timeout=30, trust_env=False) as client:
        for index, page in enumerate(pages):
            texts = [f"Trang {index}: bài tuyên truyền số {i}" for i in range(per_page)]
            for start in range(0, per_page, BATCH):
                chunk = texts[start : start + BATCH]
                ops = [
                    {"method": "POST", "relative_url": f"{page}/feed", "body": f"message={t}"}
                    for t in chunk
                ]
                response = client.post(
                    "/v21.0/",
                    data={"batch": json.dumps(ops)},
                    headers={"Authorization": f"Bearer {sb.page_token(page)}"},
                )
                response.raise_for_status()
                for text, answer in zip(chunk, response.json(), strict=True):
                    created.append((f"page{index}", text, json.loads(answer["body"])["id"]))
    return created


async def refresh(config: Any, engine: Any) -> tuple[Any, int, float]:
    """One collection run over every channel; returns (report, HTTP calls, seconds)."""
    from scheduler.channels import build_channel
    from scheduler.metrics import collect

    transport = CountingTransport()
    channels = {
        cid: build_channel(cid, config, engine=engine, transport=transport)
        for cid in config.channels
    }
    try:
        t0 = time.perf_counter()
        report = await collect(engine, channels)
        seconds = time.perf_counter() - t0
    finally:
        for channel in channels.values():
            await channel.aclose()
        await transport.aclose()
    return report, transport.count, seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Set up 10,000 published posts and refresh their figures once."""
    from content.db import open_database
    from sandbox.testing import running_sandbox
    from scheduler.config import load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    args = parser.parse_args(argv)
    per_page = max(1, args.posts // CHANNELS)
    with (
        tempfile.TemporaryDirectory(prefix="loa-bench-metrics-") as tmp,
        running_sandbox(seed=13, pages=CHANNELS, graph_call_budget=10**9) as sb,
    ):
        work = Path(tmp)
        pages = sb.page_ids[:CHANNELS]
        cfg = work / "channels.toml"
        common.write_channels_toml(cfg, sb.graph_url, pages)
        say(f"metrics: creating {per_page * CHANNELS} posts on {CHANNELS} sandbox Pages")
        created = publish_on_sandbox(sb, pages, per_page)
        engine = open_database(common.fresh_db(work / "loa.db"))
        two_hours_ago = common.utc_in(-7200)
        common.bulk_posts(
            engine,
            [Planned(text, channel, two_hours_ago) for channel, text, _ in created],
            published=True,
            remote_ids=[remote for _, _, remote in created],
        )
        sb.advance_clock(3600)  # an hour of engagement on the platform
        before = sb.requests(limit=0)["summary"]
        # The clients read their tokens from the environment, as the daemon does.
        env = common.token_env(sb, pages)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            say("metrics: refreshing every post once")
            report, calls, seconds = asyncio.run(refresh(load(cfg), engine))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        after = sb.requests(limit=0)["summary"]
    batches = after["endpoint"].get("POST /graph/batch", 0) - before["endpoint"].get(
        "POST /graph/batch", 0
    )
    figures = [
        Figure("posts refreshed", report.asked),
        Figure("samples stored", report.samples),
        Figure("HTTP calls (client side)", calls, "", "<= 200", calls <= 200 and report.asked > 0),
        Figure("batch requests seen by the sandbox", batches),
        Figure("wall time", seconds, "s"),
        Figure("posts per second", report.asked / seconds if seconds else 0.0, "/s"),
        Figure("channels failed", len(report.failed_channels)),
    ]
    details = {
        "posts": report.asked,
        "samples": report.samples,
        "http_calls": calls,
        "sandbox_batches": batches,
        "seconds": seconds,
        "failed": report.failed_channels,
    }
    return common.emit("metrics", "Metrics refresh (3)", figures, details)


if __name__ == "__main__":
    main()
