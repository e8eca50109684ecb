"""The HTTP floor on this machine: a burst sent by bare httpx clients, nothing else.

One ``httpx.AsyncClient`` per Page (as the daemon has), at most ``--per-channel`` calls in
flight per Page, the same ``POST /{page}/feed`` the daemon sends: no database, no queue, no
logging. Its drain is the fastest any dispatcher built on httpx could manage here, CPU
included; ``bench/dispatch.py`` runs it after the daemon's burst and prints it beside it.

    python bench/bare_client.py --graph-url URL --pages pages.json --deliveries 1000

``pages.json`` is a list of ``[page_id, page_token]``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import httpx


async def burst(url: str, pages: list[list[str]], n: int, per_channel: int) -> dict[str, float]:
    """Send ``n`` posts round-robin over ``pages``; wall and CPU seconds from first to last."""
    clients = [
        httpx.AsyncClient(
            base_url=url.rstrip("/") + "/",
            limits=httpx.Limits(max_connections=per_channel),
            timeout=30.0,
        )
        for _ in pages
    ]
    slots = [asyncio.Semaphore(per_channel) for _ in pages]

    async def one(i: int) -> bool:
        k = i % len(pages)
        page, token = pages[k]
        async with slots[k]:
            response = await clients[k].post(
                f"{page}/feed",
                data={"message": f"[bare {i}] Cảnh giác lừa đảo qua mạng"},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status_code == 200 and "id" in response.json()

    wall, cpu = time.perf_counter(), time.process_time()
    ok = await asyncio.gather(*(one(i) for i in range(n)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for client in clients:
        await client.aclose()
    return {"published": sum(ok), "drain_seconds": wall, "cpu_seconds": cpu}


def main() -> None:
    """Parse the arguments, run the burst, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph-url", required=True)
    parser.add_argument("--pages", type=Path, required=True)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--per-channel", type=int, default=4)
    args = parser.parse_args()
    pages = json.loads(args.pages.read_text())
    print(json.dumps(asyncio.run(burst(args.graph_url, pages, args.deliveries, args.per_channel))))


if __name__ == "__main__":
    main()
