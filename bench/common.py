"""Shared setup for the benchmarks: sandbox config, channels.toml, posts, daemon process, output.

Every benchmark prints a Markdown table (figure | value | target | met) and writes the same
figures as JSON to ``bench/results/<name>.json`` (gitignored); ``run_all.py`` combines them.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Benchmarks run from a checkout: make ``content``/``scheduler``/``sandbox`` importable even
# when the project is not installed, and put the root first so that ``import tui`` is the
# app (tui.py), not bench/tui.py, which Python puts on the path as the script's directory.
if str(ROOT) in sys.path:
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------------- figures and output


@dataclass
class Figure:
    """One measured figure, with its target when there is one."""

    name: str
    value: float | int | str
    unit: str = ""
    target: str = ""
    #: True/False when there is a target, None for context figures.
    met: bool | None = None

    def cell(self) -> str:
        """The value as shown in the table."""
        if isinstance(self.value, float):
            # Four significant digits: 149.9 MB must not print as "150" beside a < 150 target.
            text = f"{self.value:.4g}" if abs(self.value) < 1000 else f"{self.value:,.0f}"
        elif isinstance(self.value, int):
            text = f"{self.value:,}"
        else:
            text = str(self.value)
        return f"{text} {self.unit}".strip()


def check(name: str, value: float, unit: str, limit: float, *, below: bool = True) -> Figure:
    """A figure with an upper (or lower) bound as its target."""
    sign = "<" if below else ">"
    met = value < limit if below else value > limit
    return Figure(name, value, unit, f"{sign} {limit:g} {unit}".strip(), met)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (0 <= p <= 1); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p * (len(ordered) - 1)))))]


def markdown_table(figures: Iterable[Figure], title: str | None = None) -> str:
    """The figures as a Markdown table."""
    lines = [f"### {title}", ""] if title else []
    lines += ["| figure | value | target | met |", "|---|---|---|---|"]
    for f in figures:
        mark = "" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(f"| {f.name} | {f.cell()} | {f.target} | {mark} |")
    return "\n".join(lines)


def emit(
    name: str,
    title: str,
    figures: list[Figure],
    details: dict[str, Any],
    *,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Print the table and write ``results/<name>.json``; returns what was written.

    ``extra`` adds top-level keys (a benchmark whose results others read by key, e.g.
    chaos's ``platforms``); the keys ``run_all.py`` reads stay as they are.
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    data = {
        **(extra or {}),
        "name": name,
        "title": title,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "figures": [f.__dict__ for f in figures],
        "details": details,
    }
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(markdown_table(figures, title))
    print(f"\n(JSON: {RESULTS_DIR / f'{name}.json'})", flush=True)
    return data


def machine() -> str:
    """A one-line description of where the figures were measured, with its speed now.

    Shared machines change speed by up to 2x from one hour to the next (seen while
    profiling): the time of a fixed pure-Python loop, taken when the figures are written,
    tells which CPU-bound figures to compare.
    """
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}, "
        f"10M-step Python loop in {python_loop_seconds():.2f} s"
    )


def python_loop_seconds(steps: int = 10_000_000) -> float:
    """Seconds this process takes to build a list of ``steps`` zeros in a comprehension.

    The same loop as the speed notes in FINDINGS.md (``[0 for _ in range(10**7)]``).
    """
    started = time.perf_counter()
    [0 for _ in range(steps)]
    return time.perf_counter() - started


def say(text: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(text, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- configuration


def write_channels_toml(
    path: Path,
    graph_url: str,
    pages: Sequence[str],
    *,
    timeout_seconds: float = 10.0,
    max_concurrency: int = 4,
) -> None:
    """A channels.toml with one Facebook channel ``page<i>`` per sandbox page.

    The tokens are only named (``BENCH_TOKEN_<i>``); :func:`token_env` supplies them.
    """
    tables = [
        f"""
[channels.page{i}]
kind = "facebook"
name = "Trang {i}"
page_id = "{page}"
base_url = "{graph_url}"
token = {{ env = "BENCH_TOKEN_{i}" }}
timeout_seconds = {timeout_seconds}
max_concurrency = {max_concurrency}
"""
        for i, page in enumerate(pages)
    ]
    path.write_text(
        '[office]\nname = "Loa bench"\ntimezone = "Asia/Ho_Chi_Minh"\nmin_spacing_minutes = 0\n'
        + "".join(tables),
        encoding="utf-8",
    )


@dataclass(frozen=True)
class BenchChannel:
    """One channel of a mixed channels.toml: its id in Loa and its account on the platform."""

    id: str
    kind: str  # "facebook" or "zalo_oa"
    account: str  # page id or OA id
    broadcast: bool = False


def write_platform_channels_toml(
    path: Path,
    sandbox: Any,
    channels: Sequence[BenchChannel],
    *,
    media_dir: Path,
    timeout_seconds: float = 10.0,
    max_concurrency: int = 4,
) -> None:
    """A channels.toml with Facebook Pages and Zalo OAs of the sandbox, and its ``[media]``.

    Zalo fetches article covers from public URLs: Loa writes them to ``media_dir``, which the
    sandbox serves at ``/media`` (start it with ``media_dir``). Secrets are only named;
    :func:`platform_env` supplies them.
    """
    tables = []
    for i, ch in enumerate(channels):
        if ch.kind == "facebook":
            tables.append(
                f"""
[channels.{ch.id}]
kind = "facebook"
name = "Trang {i}"
page_id = "{ch.account}"
base_url = "{sandbox.graph_url}"
token = {{ env = "BENCH_TOKEN_{ch.account}" }}
timeout_seconds = {timeout_seconds}
max_concurrency = {max_concurrency}
"""
            )
        else:
            tables.append(
                f"""
[channels.{ch.id}]
kind = "zalo_oa"
name = "OA {i}"
oa_id = "{ch.account}"
app_id = "{sandbox.zalo_app_id}"
base_url = "{sandbox.zalo_url}"
oauth_url = "{sandbox.zalo_oauth_url}"
app_secret = {{ env = "BENCH_ZALO_APP_SECRET" }}
refresh_token = {{ env = "BENCH_ZALO_REFRESH_{ch.account}" }}
broadcast = {"true" if ch.broadcast else "false"}
timeout_seconds = {timeout_seconds}
max_concurrency = {max_concurrency}
"""
            )
    path.write_text(
        '[office]\nname = "Loa bench"\ntimezone = "Asia/Ho_Chi_Minh"\nmin_spacing_minutes = 0\n'
        + "".join(tables)
        + f'\n[media]\ndirectory = "{media_dir}"\npublic_base_url = "{sandbox.url}/media"\n',
        encoding="utf-8",
    )


def platform_env(sandbox: Any, channels: Sequence[BenchChannel]) -> dict[str, str]:
    """The environment daemons need for :func:`write_platform_channels_toml`'s secrets.

    Includes a fresh ``LOA_CREDENTIAL_KEY`` (the Zalo tokens Loa keeps are encrypted with
    it), so no key file is written beside the database or in the working directory.
    """
    from cryptography.fernet import Fernet

    env = token_env(sandbox, [])
    refresh = {o.oa_id: o.refresh_token for o in sandbox.config.oas}
    for ch in channels:
        if ch.kind == "facebook":
            env[f"BENCH_TOKEN_{ch.account}"] = sandbox.page_token(ch.account)
        else:
            env[f"BENCH_ZALO_REFRESH_{ch.account}"] = refresh[ch.account]
    env["BENCH_ZALO_APP_SECRET"] = sandbox.zalo_app_secret
    env["LOA_CREDENTIAL_KEY"] = Fernet.generate_key().decode()
    return env


def token_env(sandbox: Any, pages: Sequence[str]) -> dict[str, str]:
    """The environment a daemon needs for the tokens of ``pages``."""
    env = dict(os.environ)
    env.update({f"BENCH_TOKEN_{i}": sandbox.page_token(p) for i, p in enumerate(pages)})
    # Loopback only: a proxy from the environment must never see the traffic.
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(key, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


#: The local PostgreSQL server of the dev setup (trust auth); benchmarks make their own
#: database on it and drop it afterwards.
PG_SERVER_URL = os.environ.get("LOA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database ``name`` on the local server; its URL; dropped after.

    Benchmarks never share a database with the tests (``test``) or with each other.
    """
    import psycopg

    admin = PG_SERVER_URL.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER_URL}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            # FORCE: a daemon killed with SIGKILL may leave its connections for a while.
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_db(path: Path) -> str:
    """Remove an old SQLite file (and WAL) and return its URL."""
    for suffix in ("", "-wal", "-shm", ".daemon.lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Planned:
    """One post to queue: its text, channel and due time."""

    text: str
    channel: str
    due: datetime


def bulk_posts(
    engine: Any,
    planned: Sequence[Planned],
    *,
    author: str = "bench-officer",
    published: bool = False,
    remote_ids: Sequence[str] = (),
) -> None:
    """Insert scheduled posts and their deliveries as the queue leaves them, in bulk.

    Why not ``Queue.create_many``: the queue validates and audits each post in about 8 ms
    (``create_many`` with ``approve``), i.e. minutes for the 10,000-20,000 posts some
    benchmarks need. The rows written here are the ones an approved post has (post
    ``scheduled``, deliveries ``pending`` and due at the post's time), minus the audit events;
    with ``published`` the deliveries are already ``published`` with ``remote_ids``.
    """
    from sqlalchemy import insert

    from content.models import Delivery, Post
    from content.queue import fingerprint

    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM post").scalar() + 1
        posts, deliveries = [], []
        for i, p in enumerate(planned):
            post_id = first + i
            posts.append(
                dict(
                    id=post_id,
                    text=p.text,
                    image_ids=[],
                    author=author,
                    tags=[],
                    state="done" if published else "scheduled",
                    scheduled_at=p.due,
                    fingerprint=fingerprint(p.text),
                    approved_by=author,
                    created_at=now,
                    updated_at=now,
                )
            )
            deliveries.append(
                dict(
                    post_id=post_id,
                    channel=p.channel,
                    state="published" if published else "pending",
                    attempts=1 if published else 0,
                    next_attempt_at=None if published else p.due,
                    remote_id=remote_ids[i] if published else None,
                    published_at=p.due if published else None,
                    updated_at=now,
                )
            )
        for start in range(0, len(posts), 5000):
            conn.execute(insert(Post), posts[start : start + 5000])
            conn.execute(insert(Delivery), deliveries[start : start + 5000])


def utc_in(seconds: float) -> datetime:
    """Now plus ``seconds``, aware UTC."""
    return datetime.now(UTC) + timedelta(seconds=seconds)


# ---------------------------------------------------------------------- daemon processes


@dataclass
class ProcStats:
    """CPU seconds and peak RSS of a process (from /proc, or rusage once it is reaped)."""

    cpu_seconds: float
    peak_rss_mb: float


def proc_stats(pid: int) -> ProcStats:
    """Read /proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmHWM) of a live process."""
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, so utime (14) and stime (15) are [11], [12].
    cpu = (int(fields_[11]) + int(fields_[12])) / CLK_TCK
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return ProcStats(cpu, peak)


@dataclass
class DaemonProcess:
    """A daemon subprocess (``loa daemon`` or another command) with its log in a file."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    final: ProcStats | None = None
    _log: Any = field(default=None, repr=False)

    @classmethod
    def loa(
        cls,
        db: Path,
        config: Path,
        env: dict[str, str],
        log_path: Path,
        *,
        poll_seconds: float = 1.0,
        module: str = "scheduler.cli",
    ) -> DaemonProcess:
        """``python -m scheduler.cli daemon`` (or the bench launcher) on ``db``/``config``."""
        argv = [sys.executable, "-m", module, "daemon", "--db", str(db), "--config", str(config)]
        argv += ["--poll-seconds", str(poll_seconds)]
        return cls(argv, env, log_path)

    def start(self) -> DaemonProcess:
        """Start the process (its log is appended to ``log_path``)."""
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=self._log, stderr=self._log, cwd=ROOT
        )
        return self

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.proc is not None
        return self.proc.pid

    def stats(self) -> ProcStats:
        """CPU and peak RSS so far."""
        return proc_stats(self.pid)

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until ``text`` appears in the log (the daemon says it started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[:4]} exited; see {self.log_path}")
            time.sleep(0.05)
        raise TimeoutError(f"{text!r} not in {self.log_path} after {timeout}s")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Signal the process, reap it with wait4 (keeping its rusage) and return its status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    self.proc.kill()
                    pid, status, usage = os.wait4(self.proc.pid, 0)
                    break
                time.sleep(0.02)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            # ru_maxrss is in KiB on Linux.
            self.final = ProcStats(usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


def wait_until(predicate: Any, timeout: float, every: float = 0.2) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds pass; returns the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def delivery_counts(engine: Any) -> dict[str, int]:
    """Deliveries per state."""
    from collections import Counter

    from sqlmodel import Session, select

    from content.models import Delivery

    with Session(engine) as session:
        return dict(Counter(str(s) for s in session.exec(select(Delivery.state)).all()))


def open_waiting(engine: Any) -> int:
    """Deliveries still pending or sending."""
    counts = delivery_counts(engine)
    return counts.get("pending", 0) + counts.get("sending", 0)
