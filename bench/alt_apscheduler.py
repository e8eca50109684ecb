"""The obvious alternative to Loa's dispatcher: one APScheduler date job per delivery.

What a Python developer would write first, kept honest and simple so the benchmark compares
Loa with a fair baseline:

* a ``BackgroundScheduler`` with a ``SQLAlchemyJobStore`` on a SQLite file (jobs survive a
  restart) and the default thread pool (10 workers);
* ``add_job(publish, "date", run_date=due, args=[delivery_id])`` per delivery;
* ``publish`` reads the delivery from the same SQLite file and posts it to the Page with a
  shared ``httpx.Client``, then records the outcome.

APScheduler's defaults are kept (``misfire_grace_time=1``: a job that cannot start within a
second of its time is skipped and logged as missed) unless ``--misfire-grace`` is given.

Run by ``bench/dispatch.py``::

    python bench/alt_apscheduler.py --db alt.sqlite --deliveries plan.json --graph-url URL
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

DB_PATH = ""
GRAPH_URL = ""
#: One client for every job (connection pooling), as the httpx docs recommend.
CLIENT: httpx.Client | None = None


def publish(delivery_id: int) -> None:
    """Post one delivery to its Page and record when it started and how it ended."""
    started = time.time()
    with sqlite3.connect(DB_PATH, timeout=30) as db:
        page_id, token, message, due = db.execute(
            "SELECT page_id, token, message, due FROM deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
    assert CLIENT is not None
    try:
        response = CLIENT.post(
            f"{GRAPH_URL}/v21.0/{page_id}/feed",
            data={"message": message},
            headers={"Authorization": f"Bearer {token}"},
        )
        status = "published" if response.is_success else f"http {response.status_code}"
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    with sqlite3.connect(DB_PATH, timeout=30) as db:
        db.execute(
            "INSERT INTO results (id, started, finished, lateness, status) VALUES (?, ?, ?, ?, ?)",
            (delivery_id, started, time.time(), started - due, status),
        )


def setup(db_path: Path, plan: list[dict[str, object]]) -> None:
    """The app's own tables: what to publish, and what happened."""
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS deliveries "
            "(id INTEGER PRIMARY KEY, page_id TEXT, token TEXT, message TEXT, due REAL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS results "
            "(id INTEGER, started REAL, finished REAL, lateness REAL, status TEXT)"
        )
        db.executemany(
            "INSERT INTO deliveries VALUES (:id, :page_id, :token, :message, :due)", plan
        )


def main() -> int:
    """Load the plan, add one date job per delivery, run until SIGTERM."""
    global DB_PATH, GRAPH_URL, CLIENT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--deliveries", type=Path, required=True, help="JSON list from the bench")
    parser.add_argument("--graph-url", required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--misfire-grace", type=float, default=None, help="default: APScheduler's")
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    DB_PATH, GRAPH_URL = str(args.db), args.graph_url
    CLIENT = httpx.Client(timeout=args.timeout, trust_env=False)
    plan = json.loads(args.deliveries.read_text())
    setup(args.db, plan)

    defaults = {} if args.misfire_grace is None else {"misfire_grace_time": args.misfire_grace}
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{args.db}")},
        job_defaults=defaults,
        timezone="UTC",
    )
    scheduler.start()
    for item in plan:
        due = datetime.fromtimestamp(float(item["due"]), UTC)  # type: ignore[arg-type]
        scheduler.add_job(
            publish,
            "date",
            run_date=due,
            args=[item["id"]],
            id=str(item["id"]),
            replace_existing=True,
        )
    logging.getLogger("alt").info("started; %d jobs", len(plan))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # Bounded: the bench always stops us, but never outlive it by more than an hour.
    stop.wait(timeout=3600)
    scheduler.shutdown(wait=True)
    CLIENT.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
