"""Run every benchmark (each in its own process), print the combined table, write RESULTS.md.

    python bench/run_all.py [--only dispatch,idle] [--no-results-md]

Each script writes bench/results/<name>.json; this collects them into one Markdown table
(printed, and written to bench/RESULTS.md with the date and the machine). The whole run
takes about 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import common
from common import BENCH_DIR, RESULTS_DIR, Figure, markdown_table, say

#: Cheap ones first, so a broken setup shows up early; each with a time limit (seconds).
BENCHMARKS: tuple[tuple[str, float], ...] = (
    ("render", 120),
    ("metrics", 180),
    ("tui", 180),
    ("idle", 240),
    ("dispatch", 420),
    ("chaos", 420),
)


def run(name: str, limit: float) -> tuple[int, float]:
    """Run ``bench/<name>.py``; returns (exit status, seconds)."""
    say(f"== {name}")
    (RESULTS_DIR / f"{name}.json").unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        status = subprocess.run(
            [sys.executable, str(BENCH_DIR / f"{name}.py")], timeout=limit, check=False
        ).returncode
    except subprocess.TimeoutExpired:
        status = -1
    return status, time.monotonic() - t0


def combined(names: list[str], runs: dict[str, tuple[int, float]]) -> str:
    """One Markdown document with every benchmark's table."""
    parts = []
    for name in names:
        path = RESULTS_DIR / f"{name}.json"
        status, seconds = runs[name]
        if not path.exists():
            parts.append(f"### {name}\n\nno result (exit status {status} after {seconds:.0f} s)")
            continue
        data = json.loads(path.read_text())
        figures = [Figure(**f) for f in data["figures"]]
        parts.append(markdown_table(figures, f"{data['title']} — `python bench/{name}.py`"))
    return "\n\n".join(parts)


def main() -> int:
    """Run the selected benchmarks in order."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names (default: all)")
    parser.add_argument("--no-results-md", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    names = [n for n, _ in BENCHMARKS]
    if args.only:
        names = [n for n in args.only.split(",") if n in dict(BENCHMARKS)]
    RESULTS_DIR.mkdir(exist_ok=True)
    t0 = time.monotonic()
    runs = {name: run(name, dict(BENCHMARKS)[name]) for name in names}
    total = time.monotonic() - t0
    body = combined(names, runs)
    print("\n" + body)
    print(f"\nTotal: {total:.0f} s")
    if not args.no_results_md and not args.only:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        header = (
            "# Benchmark results\n\n"
            f"Measured {when} on {common.machine()} with `python bench/run_all.py` "
            f"({total:.0f} s in all). How each figure is measured: [README.md](README.md).\n\n"
        )
        (BENCH_DIR / "RESULTS.md").write_text(header + body + "\n", encoding="utf-8")
    return 0 if all(status == 0 for status, _ in runs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
