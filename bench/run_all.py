"""Run every benchmark (each in its own process), print the combined table, write RESULTS.md.

    python bench/run_all.py [--only dispatch,idle] [--no-results-md]

Each script writes bench/results/<name>.json; this collects them into one Markdown table
(printed, and written to bench/RESULTS.md with the date and the machine). The whole run
takes about 6 minutes on 2 cores.
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
    ("photos", 300),
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


def write_results_md(names: list[str], runs: dict[str, tuple[int, float]], total: float) -> None:
    """RESULTS.md: the date, the machine, every table, then the profiling findings."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = RESULTS_DIR / "run_all.json"
    if info.exists():  # --assemble: keep the date and duration of the run itself
        saved = json.loads(info.read_text())
        when, total = saved["when"], saved["total"]
    header = (
        "# Benchmark results\n\n"
        f"Measured {when} on {common.machine()} with `python bench/run_all.py` "
        f"({total:.0f} s in all). How each figure is measured: [README.md](README.md).\n\n"
    )
    # The profiling findings are written by hand (FINDINGS.md) and kept with the figures.
    findings = BENCH_DIR / "FINDINGS.md"
    tail = "\n\n" + findings.read_text(encoding="utf-8") if findings.exists() else ""
    body = combined(names, runs)
    (BENCH_DIR / "RESULTS.md").write_text(header + body + "\n" + tail, encoding="utf-8")


def main() -> int:
    """Run the selected benchmarks in order."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names (default: all)")
    parser.add_argument("--no-results-md", action="store_true", help="do not write RESULTS.md")
    parser.add_argument(
        "--assemble", action="store_true", help="rebuild RESULTS.md from the last full run only"
    )
    args = parser.parse_args()
    names = [n for n, _ in BENCHMARKS]
    if args.assemble:
        saved = json.loads((RESULTS_DIR / "run_all.json").read_text())
        write_results_md(names, {k: tuple(v) for k, v in saved["runs"].items()}, saved["total"])
        return 0
    if args.only:
        names = [n for n in args.only.split(",") if n in dict(BENCHMARKS)]
    RESULTS_DIR.mkdir(exist_ok=True)
    t0 = time.monotonic()
    runs = {name: run(name, dict(BENCHMARKS)[name]) for name in names}
    total = time.monotonic() - t0
    print("\n" + combined(names, runs))
    print(f"\nTotal: {total:.0f} s")
    if not args.no_results_md and not args.only:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        info = {"when": when, "total": total, "runs": runs}
        (RESULTS_DIR / "run_all.json").write_text(json.dumps(info, indent=2) + "\n")
        write_results_md(names, runs, total)
    return 0 if all(status == 0 for status, _ in runs.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
