"""Citizens' attachments are downloaded when their event is processed (the platforms' URLs
expire), kept sealed, bounded in size, type and time, shown and exported by `loa inbox`, and
deleted with the retention purge and a withdrawal: against the sandbox over real HTTP, and
with a stand-in transport for the bounds."""

from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func
from sqlmodel import select

from content import inbox_media
from content.accounts import unenforced
from content.db import session_scope
from content.inbox import Inbound, Inbox, ingest, purge_expired
from content.inbox_media import AttachmentUnavailable, open_attachment, sniff
from content.models import InboxAttachment, InboxMessage, ThreadKind
from content.office import ChannelDirectory
from content.sealed import Sealer
from scheduler.inbox_attachments import AttachmentFetcher
from tests.helpers import FakeClock, wait_until
from tests.test_inbox_e2e import OA, PAGE, World, subscribe, subscribe_while_down
from tests.test_inbox_e2e import _no_proxy as _no_proxy  # noqa: F401 - fixtures
from tests.test_inbox_e2e import sandbox as sandbox  # noqa: F401
from tests.test_inbox_e2e import world as world  # noqa: F401

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def attachments(engine: Engine) -> list[InboxAttachment]:
    with session_scope(engine, write=False) as session:
        return list(session.exec(select(InboxAttachment).order_by(InboxAttachment.id)).all())


def media_settled(engine: Engine) -> bool:
    with session_scope(engine, write=False) as session:
        waiting = session.exec(
            select(func.count()).select_from(InboxMessage).where(InboxMessage.media_pending)
        ).one()
    return int(waiting) == 0


def settle(w: World) -> None:
    """Deliveries made, events processed, and the worker's downloads finished."""
    w.deliver()
    wait_until(lambda: media_settled(w.engine), "the receiver downloads the attachments")


# --- end to end, over HTTP ----------------------------------------------------------------------


def test_a_zalo_screenshot_is_downloaded_on_arrival_and_kept_sealed(world):
    w = world
    screenshot = PNG + b"evidence: tin nhan lua dao"
    with w.receiver_up():
        subscribe(w)
        w.sb.citizen_zalo(
            "an", OA, type="image", data=base64.b64encode(screenshot).decode(), ttl_s=600
        )
        settle(w)
    thread = w.thread("tinh-zalo", "zalo_chat")
    view = w.inbox().thread(thread.id)
    [kept] = view.messages[0].kept
    assert (kept.kind, kept.state, kept.mime, kept.size) == (
        "image",
        "stored",
        "image/png",
        len(screenshot),
    )
    # Long after the platform's URL died, the officer still has the evidence.
    w.advance(hours=2)
    assert httpx.get(view.messages[0].attachments[0]["url"]).status_code == 404
    got, data = open_attachment(w.inbox(), kept.id)
    assert data == screenshot and got.file_name == f"loa-attachment-{kept.id}.png"
    # At rest it is sealed: the bytes appear nowhere in the database in clear.
    [row] = attachments(w.engine)
    assert row.data_enc and b"lua dao" not in row.data_enc.encode()


def test_an_attachment_whose_url_expired_before_loa_could_fetch_it_is_said_so(world):
    w = world
    subscribe_while_down(w)  # nobody listens: Meta retries while the citizen's URL runs out
    w.sb.citizen_messenger("binh", PAGE, attachment={"type": "image", "ttl_s": 60})
    w.sb.run_webhooks()
    with w.receiver_up():
        w.advance(minutes=20)
        settle(w)
    thread = w.thread("tinh-fb", "messenger")
    [kept] = w.inbox().thread(thread.id).messages[0].kept
    assert (kept.state, kept.problem) == ("expired", "http_403")
    with pytest.raises(AttachmentUnavailable) as refused:
        open_attachment(w.inbox(), kept.id)
    assert refused.value.code == "attachment_not_kept"


def test_attachments_the_backfill_recovers_are_downloaded_too(world):
    w = world
    subscribe_while_down(w)
    w.sb.citizen_zalo("an", OA, type="image")
    w.sb.citizen_messenger("binh", PAGE, attachment={"type": "image"})
    with w.receiver_up():
        w.backfill()  # the daemon's fetch after an outage, before any webhook retry lands
    kept = sorted((a.kind, a.mime, a.state) for a in attachments(w.engine))
    assert kept == [("image", "image/png", "stored")] * 2


def test_a_comment_photo_and_a_zalo_file_are_kept_and_withdrawal_deletes_them(world):
    w = world
    with w.receiver_up():
        subscribe(w)
        w.sb.citizen_zalo("giang", OA, type="file", name="bien-ban.pdf")
        w.sb.citizen_zalo("giang", OA, type="audio")
        settle(w)
        kinds = sorted((a.kind, a.mime, a.state) for a in attachments(w.engine))
        assert kinds == [("audio", "audio/amr", "stored"), ("file", "application/pdf", "stored")]
        w.sb.zalo_event("withdraw", "giang", OA)
        w.deliver()
    assert attachments(w.engine) == []
    view = w.inbox().thread(w.thread("tinh-zalo", "zalo_chat").id)
    assert all(m.kept == () and m.purged for m in view.messages)


# --- the bounds, with a stand-in CDN --------------------------------------------------------------


@pytest.fixture
def sealer() -> Sealer:
    return Sealer(Fernet.generate_key())


def message_with(engine: Engine, sealer: Sealer, clock: FakeClock, *items: dict) -> None:
    record = Inbound(
        "tinh-zalo",
        ThreadKind.ZALO_CHAT,
        "message",
        clock(),
        citizen_id="8800",
        platform_id=f"z{len(items)}-{items[0]['url']}",
        message_kind=items[0]["type"],
        attachments=tuple(items),
    )
    with session_scope(engine) as session:
        ingest(session, sealer, [record], now=clock())


def cdn(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/big.jpg":
        return httpx.Response(200, content=b"\xff\xd8\xff" + b"\0" * 10_000_001)
    if path == "/page.jpg":  # a login page where an image was promised
        return httpx.Response(200, content=b"<html>dang nhap</html>")
    if path == "/gone.jpg":
        return httpx.Response(404)
    if path == "/busy.jpg":
        return httpx.Response(503)
    return httpx.Response(200, content=PNG)


def test_too_large_the_wrong_type_and_gone_are_refused_and_a_busy_cdn_is_tried_again(
    engine, sealer, clock
):
    for name in ("big", "page", "gone", "busy", "ok"):
        message_with(
            engine, sealer, clock, {"type": "image", "url": f"https://cdn.example/{name}.jpg"}
        )
    message_with(engine, sealer, clock, {"type": "sticker", "url": "https://cdn.example/s"})
    fetcher = AttachmentFetcher(engine, sealer, clock=clock, transport=httpx.MockTransport(cdn))
    first = fetcher.run()
    assert (first.stored, first.expired, first.refused, first.failed) == (1, 1, 2, 1)
    states = {a.problem or a.mime: a.state for a in attachments(engine)}
    assert states == {
        "too_large": "refused",
        "type": "refused",
        "http_404": "expired",
        "http_503": "failed",
        "image/png": "stored",
    }
    # Only the busy one is asked again, up to three times in all; then it is given up.
    assert fetcher.run().failed == 1 and fetcher.run().failed == 1
    assert fetcher.run().messages == 0
    assert media_settled(engine)


def test_two_workers_downloading_the_same_message_keep_one_attachment(
    engine, sealer, clock, monkeypatch
):
    """The receiver's worker and the daemon's backfill may fetch the same message at once:
    the second to record finds the first one's attachment and keeps it (on PostgreSQL it
    used to insert its twin and fail on the unique index)."""
    message_with(engine, sealer, clock, {"type": "image", "url": "https://cdn.example/ok.jpg"})
    second_downloaded = threading.Event()
    outcomes: list[object] = []

    def cdn_then_signal(request: httpx.Request) -> httpx.Response:
        second_downloaded.set()
        return cdn(request)

    def second_worker() -> None:
        other = AttachmentFetcher(
            engine, sealer, clock=clock, transport=httpx.MockTransport(cdn_then_signal)
        )
        outcomes.append(other.run())

    settle_first = inbox_media.settle

    def settle_while_the_other_downloads(session, message_id):
        # The first worker has written its attachment but not committed it: the second one
        # reads the message as pending, downloads it and comes to record it now.
        settle_first(session, message_id)
        monkeypatch.setattr(inbox_media, "settle", settle_first)
        worker.start()
        assert second_downloaded.wait(30)

    worker = threading.Thread(target=second_worker)
    monkeypatch.setattr(inbox_media, "settle", settle_while_the_other_downloads)
    first = AttachmentFetcher(engine, sealer, clock=clock, transport=httpx.MockTransport(cdn))
    assert first.run().stored == 1
    worker.join(30)
    assert len(outcomes) == 1  # the second worker ended without an error
    [row] = attachments(engine)
    assert (row.state, row.tries, row.mime) == ("stored", 1, "image/png")
    assert media_settled(engine)


def test_the_retention_purge_deletes_kept_attachments(engine, sealer, clock, directory):
    message_with(engine, sealer, clock, {"type": "image", "url": "https://cdn.example/ok.jpg"})
    AttachmentFetcher(engine, sealer, clock=clock, transport=httpx.MockTransport(cdn)).run()
    assert [a.state for a in attachments(engine)] == ["stored"]
    clock.advance(days=181)
    purge_expired(engine, now=clock(), retention=timedelta(days=180))
    assert attachments(engine) == []


def test_sniffing_believes_the_bytes_not_the_name():
    assert sniff(PNG) == "image/png"
    assert sniff(b"%PDF-1.7 ...") == "application/pdf"
    assert sniff(b"#!AMR\n...") == "audio/amr"
    assert sniff(b"\0\0\0\x18ftypmp42") == "video/mp4"
    assert sniff(b"MZ\x90\0 a program") is None


def test_loa_inbox_show_lists_kept_attachments_and_attachment_exports_one(
    db_url, capsys, monkeypatch, tmp_path
):
    from content.db import open_database
    from scheduler.cli import main
    from tests.conftest import REPO

    key = Fernet.generate_key()
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    monkeypatch.setenv("LOA_CREDENTIAL_KEY", key.decode())
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("scheduler.cli.common.os_login", lambda: "lan")
    engine = open_database(db_url)
    clock = FakeClock(__import__("datetime").datetime.now(__import__("datetime").UTC))
    sealer = Sealer(key)
    message_with(engine, sealer, clock, {"type": "image", "url": "https://cdn.example/ok.jpg"})
    AttachmentFetcher(engine, sealer, clock=clock, transport=httpx.MockTransport(cdn)).run()
    [row] = attachments(engine)
    engine.dispose()
    assert main(["--db", db_url, "inbox", "list", "--json"]) == 0
    thread = json.loads(capsys.readouterr().out)[0]["id"]
    assert main(["--db", db_url, "inbox", "show", str(thread)]) == 0
    out = capsys.readouterr().out
    assert f"attachment {row.id}: image, image/png" in out
    assert f"loa inbox attachment {row.id} --out loa-attachment-{row.id}.png" in out
    target = tmp_path / "bang-chung.png"
    assert main(["--db", db_url, "inbox", "attachment", str(row.id), "--out", str(target)]) == 0
    assert target.read_bytes() == PNG and (target.stat().st_mode & 0o777) == 0o600
    assert main(["--db", db_url, "inbox", "attachment", "999", "--out", str(target)]) == 2
    assert "no attachment 999" in capsys.readouterr().err


def test_a_minors_attachments_are_for_approvers_once_accounts_exist(
    engine, sealer, clock, directory: ChannelDirectory
):
    from content.accounts import Access
    from content.models import InboxThread, Role

    message_with(engine, sealer, clock, {"type": "image", "url": "https://cdn.example/ok.jpg"})
    AttachmentFetcher(engine, sealer, clock=clock, transport=httpx.MockTransport(cdn)).run()
    with session_scope(engine) as session:
        thread = session.exec(select(InboxThread)).one()
        thread.minor = True
        session.add(thread)
    [row] = attachments(engine)
    assert row.id is not None

    def inbox(role: Role) -> Inbox:
        access = Access("lan", "lan", role=role, channels=None)
        return Inbox(engine, directory, sealer, access=access, clock=clock)

    with pytest.raises(AttachmentUnavailable) as refused:
        open_attachment(inbox(Role.AUTHOR), row.id)
    assert refused.value.code == "attachment_minor"
    assert open_attachment(inbox(Role.APPROVER), row.id)[1] == PNG
    assert open_attachment(Inbox(engine, directory, sealer, access=unenforced("x")), row.id)
