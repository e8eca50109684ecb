"""`loa inbox`: a thin face over content.inbox, on SQLite and PostgreSQL. Lists show no
personal data, show opens (and audits) a thread, refusals are one line and exit 2 in the
office's language, and an officer sees only his units' threads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from content.db import open_database, session_scope
from content.inbox import Inbound, ingest
from content.models import AuditEvent, ThreadKind
from content.sealed import Sealer
from scheduler.cli import main
from tests.conftest import REPO

TIP = "Có người gọi giả danh công an, số 0912 345 678"


@pytest.fixture
def run(db_url, capsys, monkeypatch):
    """``run(os_user, *argv)``: `loa` as that OS login on the repository's office, with two
    citizens' threads already in the inbox (one on a ward's Page, one on the province OA)."""
    key = Fernet.generate_key()
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    monkeypatch.setenv("LOA_CREDENTIAL_KEY", key.decode())
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine = open_database(db_url)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        ingest(
            session,
            Sealer(key),
            [
                Inbound("phuong1-fb", ThreadKind.MESSENGER, "message", now, citizen_id="psid-1",
                        citizen_name="Lê Văn Tâm", platform_id="m_1", text=TIP),
                Inbound("tinh-zalo", ThreadKind.ZALO_CHAT, "message", now, citizen_id="8800",
                        platform_id="z1", text="Cho hỏi giờ tiếp dân"),
            ],
            now=now,
        )  # fmt: skip
    engine.dispose()

    def call(os_user: str, *argv: str) -> tuple[int, str, str]:
        monkeypatch.setattr("scheduler.cli.common.os_login", lambda: os_user)
        code = main(["--db", db_url, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    call.url = db_url  # type: ignore[attr-defined]
    return call


def test_listing_shows_no_personal_data_and_show_is_audited(run):
    code, out, _ = run("lan", "inbox", "list", "--json")
    assert code == 0
    threads = json.loads(out)
    assert {t["channel"] for t in threads} == {"phuong1-fb", "tinh-zalo"}
    assert "0912" not in out and "Tâm" not in out
    fb = next(t for t in threads if t["channel"] == "phuong1-fb")
    assert fb["window"]["rule"] == "messenger_24h" and fb["window"]["open"]
    code, out, _ = run("lan", "inbox", "show", str(fb["id"]))
    assert code == 0 and TIP in out and "Lê Văn Tâm" in out
    engine = open_database(run.url)
    with session_scope(engine, write=False) as session:
        reads = list(session.exec(select(AuditEvent)).all())
    engine.dispose()
    assert [(e.actor, e.action) for e in reads] == [("lan", "inbox_read")]


def test_a_vietnamese_office_reads_its_inbox_in_vietnamese(run, monkeypatch):
    monkeypatch.setenv("LOA_LANG", "vi")
    code, out, _ = run("lan", "inbox", "list")
    rows = out.splitlines()
    assert code == 0 and len(rows) == 2
    zalo = next(r for r in rows if "tinh-zalo" in r)
    # Kind, state and the reply window in the office's words; no personal data in a list.
    assert zalo.split()[2:4] == ["Zalo", "mới"]
    assert "hạn nền tảng Zalo 7 ngày đến " in zalo and "0912" not in out
    thread = zalo.split()[0]
    code, out, _ = run("lan", "inbox", "show", thread)
    assert out.splitlines()[1] == "người dân: (chưa biết tên)"
    assert " người dân: Cho hỏi giờ tiếp dân" in out
    code, out, _ = run("lan", "inbox", "counts", "--by", "channel")
    assert "tinh-zalo        mới 1    đã giao 0" in out


def test_assign_tag_close_and_a_refusal_in_one_line(run, monkeypatch):
    _, out, _ = run("lan", "inbox", "list", "--json")
    thread = json.loads(out)[0]["id"]
    code, out, _ = run("lan", "inbox", "assign", str(thread), "--to", "lan", "--json")
    assert code == 0 and json.loads(out)["state"] == "assigned"
    code, out, _ = run("lan", "inbox", "tag", str(thread), "scam_report", "tip", "--json")
    assert json.loads(out)["tags"] == ["tip", "scam_report"]
    assert run("lan", "inbox", "close", str(thread))[0] == 0
    code, out, err = run("lan", "inbox", "close", str(thread))
    assert (code, out) == (2, "")
    assert err == f"loa: error: thread {thread} is closed; closing it is not allowed\n"
    monkeypatch.setenv("LOA_LANG", "vi")
    code, _, err = run("lan", "inbox", "close", str(thread))
    assert code == 2
    assert err == f"loa: lỗi: Hội thoại {thread} đang ở trạng thái “đã đóng”: không được đóng.\n"


def test_an_officer_sees_and_answers_only_his_units_threads(run):
    assert run("root", "users", "add", "root", "--role", "admin")[0] == 0
    assert run("root", "users", "add", "lan", "--role", "author", "--unit", "wards")[0] == 0
    _, out, _ = run("root", "inbox", "list", "--json")
    zalo = next(t["id"] for t in json.loads(out) if t["channel"] == "tinh-zalo")
    code, out, _ = run("lan", "inbox", "list", "--json")
    assert [t["channel"] for t in json.loads(out)] == ["phuong1-fb"]
    code, out, err = run("lan", "inbox", "show", str(zalo))
    assert code == 2 and err == f"loa: error: no thread {zalo} (see: loa inbox list)\n"
    # A reply that cannot be right is refused before any platform is asked.
    code, _, err = run("root", "inbox", "reply", str(zalo), "--text", "Chào anh", "--private")
    assert code == 2 and "a reply there is a message, not a private reply" in err
    code, out, _ = run("root", "inbox", "counts", "--by", "channel", "--json")
    assert json.loads(out)["tinh-zalo"]["open"] == 1
