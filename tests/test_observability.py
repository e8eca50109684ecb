"""`loa daemon --metrics-port`: Prometheus series and /healthz, scraped over real HTTP.

The daemon publishes through the sandbox (real HTTP, the real Facebook and Zalo clients) on
SQLite and PostgreSQL while the test scrapes it like Prometheus would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlmodel import Session, select

from content.models import ChannelState, Delivery, DeliveryState
from content.queue import PostInput, Queue
from sandbox.testing import SandboxHandle, running_sandbox
from scheduler.cli import main
from scheduler.config import load
from scheduler.daemon import Daemon, DaemonSettings
from scheduler.observability import MetricsServer, MetricsUnavailable, observe_daemon
from scheduler.runtime import build_daemon
from tests.channels.conftest import PAGE_ID, write_config
from tests.helpers import FakeClock, ScriptedChannel

#: What is tested is the daemon's metrics and health over HTTP, not the database under it.
pytestmark = pytest.mark.one_database

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback scrapes and sandbox calls must not go through an office proxy."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(seed=11, verify_pending_polls=1) as sb:
        yield sb


def scrape(url: str) -> Samples:
    """GET /metrics and parse it as Prometheus does: (name, labels) -> value."""
    answer = httpx.get(f"{url}/metrics", trust_env=False, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def healthz(url: str) -> tuple[int, dict[str, object]]:
    answer = httpx.get(f"{url}/healthz", trust_env=False, timeout=10)
    return answer.status_code, answer.json()


async def until(condition: Callable[[], bool], limit: float = 15.0) -> None:
    """Wait for something the daemon brings about (bounded; never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await asyncio.to_thread(condition):
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def states(engine: Engine, post_id: int) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(Delivery).where(Delivery.post_id == post_id)).all()
        return [r.state for r in rows]


def approved(queue: Queue, chief: Queue, at: datetime, text: str) -> int:
    post = queue.create(PostInput(text=text, channels=["tinh-fb"], at=at), submit=True).post
    assert post.id is not None
    chief.approve(post.id)
    return post.id


def test_metrics_during_sandbox_publishing(engine, sandbox, tmp_path, monkeypatch):
    sandbox.reset()
    monkeypatch.setenv("LOA_TEST_FB_TOKEN", sandbox.page_token(PAGE_ID))
    monkeypatch.setenv("LOA_TEST_ZALO_SECRET", sandbox.zalo_app_secret)
    monkeypatch.setenv("LOA_TEST_ZALO_REFRESH", sandbox.refresh_token(sandbox.oa_ids[0]))
    monkeypatch.setenv("LOA_CREDENTIAL_KEY", Fernet.generate_key().decode())
    page_expiry = int(sandbox.now()) + 30 * 86400
    sandbox.set_page_grant(PAGE_ID, expires_at=page_expiry)
    config = load(
        write_config(
            tmp_path / "channels.toml",
            sandbox,
            media_url="http://127.0.0.1:9",
            media_dir=tmp_path / "media",
        )
    )
    now = datetime.now(UTC)
    # The queue's clock runs three minutes behind: its "in one minute" is two minutes ago
    # for the daemon, so that post leaves about 120 s late.
    behind = FakeClock(now - timedelta(minutes=3))
    officer = Queue(engine, config.directory(), actor="officer", clock=behind)
    chief = Queue(engine, config.directory(), actor="chief", clock=behind)
    late = approved(officer, chief, behind.now + timedelta(minutes=1), "Cảnh giác lừa đảo")
    approved(officer, chief, now + timedelta(days=1), "Ngày mai")

    daemon = build_daemon(
        config, engine, settings=DaemonSettings(poll_seconds=0.05, shutdown_grace_seconds=5)
    )
    # A second scrape target on the same database, as a second daemon would be.
    other = build_daemon(config, engine)

    async def scenario() -> tuple[Samples, Samples, tuple[int, dict[str, object]]]:
        with (
            MetricsServer(observe_daemon(daemon), port=0) as server,
            MetricsServer(observe_daemon(other, process=False), port=0) as second,
        ):
            task = asyncio.create_task(daemon.run_forever())
            try:
                await until(lambda: states(engine, late) == [DeliveryState.PUBLISHED])
                # The next publish on the Page is refused as bad content: failed.
                sandbox.set_faults(PAGE_ID, script=["reject"], publish_only=True)
                refused = await asyncio.to_thread(
                    approved, officer, chief, behind.now, "Bị từ chối"
                )
                await until(lambda: states(engine, refused) == [DeliveryState.FAILED])
                await until(
                    lambda: (
                        value(
                            scrape(server.url),
                            "loa_token_expiry_timestamp_seconds",
                            channel="tinh-fb",
                            token="page",
                        )
                        is not None
                    )
                )
                with Session(engine) as session:  # an officer's `loa channels` pause, say
                    session.add(ChannelState(channel="tinh-zalo", paused=True, updated_at=now))
                    session.commit()
                mine = await asyncio.to_thread(scrape, server.url)
                theirs = await asyncio.to_thread(scrape, second.url)
                health = await asyncio.to_thread(healthz, server.url)
            finally:
                daemon.stop()
                await task
                await daemon.close()
                await other.close()
        return mine, theirs, health

    mine, theirs, (status, body) = asyncio.run(scenario())

    outcomes = "loa_delivery_outcomes_total"
    assert value(mine, outcomes, channel="tinh-fb", outcome="published") == 1
    assert value(mine, outcomes, channel="tinh-fb", outcome="failed") == 1
    hist = "loa_publish_lateness_seconds"
    assert value(mine, f"{hist}_count", channel="tinh-fb") == 1
    assert value(mine, f"{hist}_bucket", channel="tinh-fb", le="60.0") == 0
    assert value(mine, f"{hist}_bucket", channel="tinh-fb", le="300.0") == 1
    assert 120 <= (value(mine, f"{hist}_sum", channel="tinh-fb") or 0) < 300

    assert value(mine, "loa_database_up") == 1
    assert value(mine, "loa_queue_depth", channel="tinh-fb") == 1  # tomorrow's post
    assert value(mine, "loa_queue_depth", channel="tinh-zalo") == 0
    assert value(mine, "loa_channel_paused", channel="tinh-zalo") == 1
    assert value(mine, "loa_channel_paused", channel="tinh-fb") == 0
    assert 0 <= (value(mine, "loa_seconds_since_last_publish", channel="tinh-fb") or -1) < 60
    assert value(mine, "loa_seconds_since_last_publish", channel="tinh-zalo") is None
    expiry = "loa_token_expiry_timestamp_seconds"
    assert value(mine, expiry, channel="tinh-fb", token="page") == page_expiry
    zalo_access = value(mine, expiry, channel="tinh-zalo", token="access")
    assert zalo_access is not None and zalo_access > now.timestamp() + 3600
    assert value(mine, expiry, channel="tinh-zalo", token="refresh") is not None
    assert value(mine, "loa_daemons_alive") == 1
    assert value(mine, "process_resident_memory_bytes") is not None

    # The second target counted no events, but reads the same state from the database.
    for name, labels in [
        ("loa_queue_depth", {"channel": "tinh-fb"}),
        ("loa_channel_paused", {"channel": "tinh-zalo"}),
        (expiry, {"channel": "tinh-zalo", "token": "access"}),
    ]:
        assert value(theirs, name, **labels) == value(mine, name, **labels), name
    assert value(theirs, outcomes, channel="tinh-fb", outcome="published") is None

    assert status == 200 and body["status"] == "ok" and body["worker"] == daemon.worker


def test_healthz_is_503_until_the_first_tick_and_when_ticks_stop(engine, make_queue):
    clock = FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    daemon = Daemon(
        engine,
        {"tinh-fb": ScriptedChannel("tinh-fb")},
        make_queue("loa-daemon"),
        settings=DaemonSettings(poll_seconds=0.05, shutdown_grace_seconds=5),
        clock=clock,
    )

    async def scenario() -> list[tuple[int, dict[str, object]]]:
        seen = []
        with MetricsServer(observe_daemon(daemon, process=False), port=0) as server:
            seen.append(await asyncio.to_thread(healthz, server.url))  # not started
            task = asyncio.create_task(daemon.run_forever())
            await until(lambda: daemon.last_tick is not None)
            seen.append(await asyncio.to_thread(healthz, server.url))
            daemon.stop()
            await task
            clock.advance(minutes=5)  # nothing ticks any more
            seen.append(await asyncio.to_thread(healthz, server.url))
        return seen

    before, running, stuck = asyncio.run(scenario())
    assert before == (503, before[1]) and before[1]["status"] == "stale"
    assert before[1]["last_tick"] is None
    assert running[0] == 200 and running[1]["status"] == "ok"
    assert running[1]["seconds_since_tick"] == 0
    assert stuck[0] == 503 and stuck[1]["status"] == "stale"
    assert stuck[1]["seconds_since_tick"] == 300 and stuck[1]["limit_seconds"] == 30


def test_a_port_in_use_is_one_line(engine, make_queue):
    daemon = Daemon(engine, {}, make_queue("loa-daemon"))
    with MetricsServer(observe_daemon(daemon, process=False), port=0) as taken:
        with pytest.raises(MetricsUnavailable) as refused:
            MetricsServer(observe_daemon(daemon, process=False), port=taken.port)
    assert refused.value.code == "metrics_bind"
    assert str(taken.port) in str(refused.value) and "\n" not in str(refused.value)


def test_metrics_port_with_once_is_refused(tmp_path: Path, capsys):
    code = main(["--db", str(tmp_path / "loa.db"), "daemon", "--once", "--metrics-port", "9108"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--metrics-port" in err and "--once" in err
