"""The webhook receiver over real HTTP, on SQLite and PostgreSQL: bodies signed here the
way each platform signs them (computed independently of Loa's code), forged, unsigned and
stale ones refused with nothing stored, retries stored once."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func
from sqlmodel import select

from content.accounts import unenforced
from content.db import session_scope
from content.inbox import Inbox
from content.models import InboundEvent, InboxMessage
from content.sealed import Sealer
from scheduler.config import load
from scheduler.inbox_jobs import EventProcessor
from scheduler.webhooks import Receiver, serving
from tests.helpers import FakeClock

ZALO_APP = "3100000000000000001"
OA = "4300000000000000001"
OA_SECRET = "oa-secret-key-for-tests"
PAGE = "100000000000001"
APP_SECRET = "meta-app-secret-for-tests"
VERIFY = "verify-me-please"

CONFIG = f"""
[office]
name = "Công an tỉnh Demo"

[channels.tinh-fb]
kind = "facebook"
name = "Tỉnh FB"
page_id = "{PAGE}"
token = {{ env = "T_FB_TOKEN" }}
app_secret = {{ env = "T_FB_APP_SECRET" }}
verify_token = {{ env = "T_FB_VERIFY" }}

[channels.tinh-zalo]
kind = "zalo_oa"
name = "Tỉnh Zalo"
oa_id = "{OA}"
app_id = "{ZALO_APP}"
app_secret = {{ env = "T_ZALO_APP_SECRET" }}
webhook_secret = {{ env = "T_ZALO_OA_SECRET" }}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "channels.toml"
    path.write_text(CONFIG, encoding="utf-8")
    for name, value in {
        "T_FB_TOKEN": "page-token-xxxxxxxx",
        "T_FB_APP_SECRET": APP_SECRET,
        "T_FB_VERIFY": VERIFY,
        "T_ZALO_APP_SECRET": "zalo-app-secret-xx",
        "T_ZALO_OA_SECRET": OA_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    return load(path)


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(Fernet.generate_key())


@pytest.fixture
def receiver(config, engine, sealer, clock):
    """The receiver on a real socket; events are processed when the test says so."""
    rx = Receiver(config, engine, sealer, clock=clock, process=False)
    with serving(rx) as url, httpx.Client(base_url=url, trust_env=False) as client:
        rx.client = client  # type: ignore[attr-defined]
        yield rx


def zalo_body(clock: FakeClock, msg_id: str = "m-1", text: str = "Có kẻ lừa đảo") -> bytes:
    event = {
        "app_id": ZALO_APP,
        "sender": {"id": "2468013579"},
        "user_id_by_app": "55217727",
        "recipient": {"id": OA},
        "event_name": "user_send_text",
        "message": {"text": text, "msg_id": msg_id},
        "timestamp": str(int(clock().timestamp() * 1000)),
    }
    return json.dumps(event, ensure_ascii=False).encode()


def zalo_mac(body: bytes, secret: str = OA_SECRET) -> str:
    timestamp = json.loads(body)["timestamp"]
    return hashlib.sha256(
        ZALO_APP.encode() + body + timestamp.encode() + secret.encode()
    ).hexdigest()


def meta_body(clock: FakeClock, *, comment_id: str = "122_9001", page: str = PAGE) -> bytes:
    """A feed comment as Meta sends it: non-ASCII escaped as \\uXXXX (lowercase), / as \\/."""
    seconds = int(clock().timestamp())
    value = {
        "from": {"id": "8800", "name": "Trần Thị Bình"},
        "post": {"id": f"{page}_122", "status_type": "mobile_status_update"},
        "message": "Số 0987 000 111 gọi giả danh công an https://x.vn/a",
        "post_id": f"{page}_122",
        "comment_id": comment_id,
        "created_time": seconds,
        "item": "comment",
        "parent_id": f"{page}_122",
        "verb": "add",
    }
    body = {
        "object": "page",
        "entry": [{"id": page, "time": seconds, "changes": [{"field": "feed", "value": value}]}],
    }
    return json.dumps(body, ensure_ascii=True).replace("/", "\\/").encode()


def meta_sig(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def stored(engine) -> int:
    with session_scope(engine, write=False) as session:
        return int(session.exec(select(func.count()).select_from(InboundEvent)).one())


def messages(engine) -> int:
    with session_scope(engine, write=False) as session:
        return int(session.exec(select(func.count()).select_from(InboxMessage)).one())


def test_a_signed_zalo_message_is_stored_once_and_becomes_a_thread(
    receiver, engine, sealer, clock, config
):
    body = zalo_body(clock)
    for header in (f"mac={zalo_mac(body)}", zalo_mac(body)):  # both forms seen in the wild
        answer = receiver.client.post(
            "/webhooks/zalo", content=body, headers={"X-ZEvent-Signature": header}
        )
        assert answer.status_code == 200
    retried = receiver.client.post(
        "/webhooks/zalo",
        content=body,
        headers={"X-ZEvent-Signature": f"mac={zalo_mac(body)}", "num_retry": "1"},
    )
    assert retried.status_code == 200
    assert stored(engine) == 1
    EventProcessor(engine, config, sealer, clock=clock).run()
    box = Inbox(engine, config.directory(), sealer, access=unenforced("lan"), clock=clock)
    [thread] = box.threads()
    assert (thread.channel, thread.kind, thread.state) == ("tinh-zalo", "zalo_chat", "open")
    assert box.thread(thread.id).messages[0].text == "Có kẻ lừa đảo"
    with session_scope(engine, write=False) as session:
        event = session.exec(select(InboundEvent)).one()
    assert event.state == "done" and event.body_enc is None


@pytest.mark.parametrize(
    "case",
    ["unsigned", "wrong_secret", "app_secret_not_oa_secret", "tampered", "stale", "hmac"],
)
def test_forged_unsigned_or_stale_zalo_deliveries_get_403_and_store_nothing(
    receiver, engine, clock, case
):
    body = zalo_body(clock)
    headers = {"X-ZEvent-Signature": f"mac={zalo_mac(body)}"}
    if case == "unsigned":
        headers = {}
    elif case == "wrong_secret":
        headers = {"X-ZEvent-Signature": f"mac={zalo_mac(body, 'guess')}"}
    elif case == "app_secret_not_oa_secret":
        headers = {"X-ZEvent-Signature": f"mac={zalo_mac(body, 'zalo-app-secret-xx')}"}
    elif case == "tampered":
        body = body.replace("lừa đảo".encode(), "xin chào".encode())
    elif case == "stale":
        clock.advance(hours=-3)  # signed with a timestamp three hours old
        body = zalo_body(clock)
        headers = {"X-ZEvent-Signature": f"mac={zalo_mac(body)}"}
        clock.advance(hours=3)
    elif case == "hmac":  # what some integrations wrongly compute
        headers = {
            "X-ZEvent-Signature": hmac.new(OA_SECRET.encode(), body, hashlib.sha256).hexdigest()
        }
    answer = receiver.client.post("/webhooks/zalo", content=body, headers=headers)
    assert answer.status_code == 403
    assert stored(engine) == 0


def test_zalo_retries_two_hours_later_are_still_taken(receiver, engine, clock):
    body = zalo_body(clock)
    clock.advance(hours=2, minutes=6)  # Zalo's last retry: 30 s + 5 + 15 + 30 min + 1 h later
    answer = receiver.client.post(
        "/webhooks/zalo", content=body, headers={"X-ZEvent-Signature": f"mac={zalo_mac(body)}"}
    )
    assert answer.status_code == 200 and stored(engine) == 1


def test_meta_handshake_answers_the_challenge_only_for_our_token(receiver):
    good = receiver.client.get(
        "/webhooks/facebook",
        params={"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY},
    )
    assert (good.status_code, good.text) == (200, "1158201444")
    bad = receiver.client.get(
        "/webhooks/facebook",
        params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "nope"},
    )
    assert bad.status_code == 403 and "1" not in bad.text


def test_a_meta_comment_is_checked_over_the_escaped_bytes_it_was_signed_as(
    receiver, engine, sealer, clock, config
):
    body = meta_body(clock)
    assert b"\\u1ea7" in body  # "ầ" escaped, as Meta sends Vietnamese
    answer = receiver.client.post(
        "/webhooks/facebook", content=body, headers={"X-Hub-Signature-256": meta_sig(body)}
    )
    assert answer.status_code == 200 and stored(engine) == 1
    # The same JSON re-serialised with real letters no longer matches the signature.
    plain = json.dumps(json.loads(body), ensure_ascii=False).encode()
    refused = receiver.client.post(
        "/webhooks/facebook", content=plain, headers={"X-Hub-Signature-256": meta_sig(body)}
    )
    assert refused.status_code == 403
    EventProcessor(engine, config, sealer, clock=clock).run()
    box = Inbox(engine, config.directory(), sealer, access=unenforced("lan"), clock=clock)
    [thread] = box.threads()
    view = box.thread(thread.id)
    assert thread.kind == "comments" and view.citizen_name == "Trần Thị Bình"
    assert view.messages[0].text == "Số 0987 000 111 gọi giả danh công an https://x.vn/a"


@pytest.mark.parametrize("case", ["unsigned", "wrong_secret", "sha1_only", "stale"])
def test_forged_unsigned_or_stale_meta_deliveries_get_403_and_store_nothing(
    receiver, engine, clock, case
):
    body = meta_body(clock)
    headers = {"X-Hub-Signature-256": meta_sig(body)}
    if case == "unsigned":
        headers = {}
    elif case == "wrong_secret":
        headers = {"X-Hub-Signature-256": meta_sig(body, "guess")}
    elif case == "sha1_only":
        headers = {
            "X-Hub-Signature": "sha1=" + hmac.new(APP_SECRET.encode(), body, "sha1").hexdigest()
        }
    elif case == "stale":
        clock.advance(hours=-40)  # past Meta's 36 hours of retries: a replay
        body = meta_body(clock)
        headers = {"X-Hub-Signature-256": meta_sig(body)}
        clock.advance(hours=40)
    answer = receiver.client.post("/webhooks/facebook", content=body, headers=headers)
    assert answer.status_code == 403
    assert stored(engine) == 0


def test_another_pages_events_and_receipts_are_acknowledged_not_stored(receiver, engine, clock):
    other = meta_body(clock, page="999999")
    seconds = int(clock().timestamp() * 1000)
    receipt = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "time": seconds,
                    "messaging": [
                        {
                            "sender": {"id": "psid-1"},
                            "recipient": {"id": PAGE},
                            "timestamp": seconds,
                            "read": {"watermark": seconds},
                        }
                    ],
                }
            ],
        }
    ).encode()
    for body in (other, receipt):
        answer = receiver.client.post(
            "/webhooks/facebook", content=body, headers={"X-Hub-Signature-256": meta_sig(body)}
        )
        assert answer.status_code == 200
    assert stored(engine) == 0


def test_a_batch_of_messages_and_its_redelivery_make_each_message_once(
    receiver, engine, sealer, clock, config
):
    now = int(clock().timestamp() * 1000)
    events = [
        {
            "sender": {"id": f"psid-{n % 3}"},
            "recipient": {"id": PAGE},
            "timestamp": now + n,
            "message": {"mid": f"m_{n}", "text": f"Tin {n} – cảm ơn"},
        }
        for n in range(7)
    ]
    body = json.dumps(
        {"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": events}]}
    ).encode()
    for _ in range(2):
        answer = receiver.client.post(
            "/webhooks/facebook", content=body, headers={"X-Hub-Signature-256": meta_sig(body)}
        )
        assert answer.status_code == 200
    assert stored(engine) == 7
    EventProcessor(engine, config, sealer, clock=clock).run()
    assert messages(engine) == 7
    box = Inbox(engine, config.directory(), sealer, access=unenforced("lan"), clock=clock)
    assert sorted(t.messages_in for t in box.threads()) == [2, 2, 3]


def test_processing_what_the_receiver_stored_happens_once_whoever_runs_it(
    receiver, engine, sealer, clock, config
):
    body = zalo_body(clock, "m-77")
    receiver.client.post(
        "/webhooks/zalo", content=body, headers={"X-ZEvent-Signature": zalo_mac(body)}
    )
    first = EventProcessor(engine, config, sealer, clock=clock).run()
    second = EventProcessor(engine, config, sealer, clock=clock).run()
    assert (first.messages, second.messages) == (1, 0)
    assert messages(engine) == 1


def test_loa_webhooks_serve_stores_processes_in_its_worker_and_stops_cleanly(
    config, db_url, tmp_path, monkeypatch
):
    """The real command: a signed delivery is acknowledged, becomes a thread in the
    separate processing process, and SIGTERM ends both processes."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from content.db import open_database
    from tests.conftest import REPO

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("LOA_CREDENTIAL_KEY", key)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli", "webhooks", "serve", "--db", db_url,
         "--config", str(config.path), "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        now = FakeClock(datetime.now(UTC))
        body = zalo_body(now, "m-cli")
        answer = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/zalo",
            content=body,
            headers={"X-ZEvent-Signature": f"mac={zalo_mac(body)}"},
            trust_env=False,
        )
        assert answer.status_code == 200
        engine = open_database(db_url)
        while messages(engine) == 0:
            assert time.monotonic() < deadline, "the worker process did not process the event"
            time.sleep(0.05)
        engine.dispose()
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, "no processing process"
    finally:
        server.send_signal(signal.SIGTERM)
        # uvicorn stops gracefully, then ends by the signal it caught (as systemd expects).
        assert server.wait(timeout=20) in (0, -signal.SIGTERM)
    # multiprocessing's resource tracker, also a child, ends once its pipe closes.
    gone_by = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{child}") for child in children):
        assert time.monotonic() < gone_by, "a process of serve outlived it"
        time.sleep(0.05)
