"""The audit log cannot be quietly rewritten: the database refuses changes, and a hash chain
shows what someone changed with the database's own shell after dropping the triggers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, delete, insert, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from content import audit
from content.db import _alembic_config, make_engine, open_database, session_scope, upgrade
from content.models import AuditEvent
from tests.helpers import loa_cli

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 in Hồ Chí Minh City
TABLE = AuditEvent.__table__  # type: ignore[attr-defined]


def _row(i: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = dict(
        at=T0 + timedelta(hours=i),
        actor="can-bo",
        action="edit",
        post_id=i,
        delivery_id=None,
        before={"state": "draft", "content": {"title": "Cảnh giác lừa đảo", "tags": []}},
        after={"state": "in_review", "n": i, "rate": 0.25},
        detail=f"bước {i}",
        real_actor=None,
        os_user="loa",
    )
    row.update(changes)
    return row


def _write(engine: Engine, rows: list[dict[str, object]]) -> None:
    with session_scope(engine) as session:
        audit.write(session, rows)


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    """An upgraded database holding five audit rows (written in two calls)."""
    engine = open_database(db_url)
    _write(engine, [_row(1), _row(2), _row(3)])
    _write(engine, [_row(4, actor="truong-phong", action="approve"), _row(5)])
    yield engine
    engine.dispose()


@pytest.fixture
def loa(db_url, capsys, monkeypatch):
    """Run `loa` with the repository's channels.toml; returns (exit code, stdout, stderr)."""
    return loa_cli(db_url, capsys, monkeypatch)


def _shell(db_url: str, sql: str) -> None:
    """Run ``sql`` with the database's own shell, as a tamperer would (sqlite3 or psql)."""
    url = make_url(db_url)
    tool = "sqlite3" if url.get_backend_name() == "sqlite" else "psql"
    if shutil.which(tool) is None:
        pytest.skip(f"the {tool} shell is not installed (see .ci/run)")
    if url.get_backend_name() == "sqlite":
        argv = ["sqlite3", str(url.database)]
        env = dict(os.environ)
    else:
        argv = [
            "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-h",
            str(url.host),
            "-p",
            str(url.port or 5432),
            "-U",
            str(url.username),
            str(url.database),
        ]
        # The test's own schema (conftest's pg_url sets it as the search path).
        env = {**os.environ, "PGOPTIONS": str(url.query.get("options", ""))}
    done = subprocess.run(argv, input=sql, text=True, capture_output=True, env=env, check=False)
    assert done.returncode == 0, done.stderr


def _drop_triggers(db_url: str) -> str:
    if make_url(db_url).get_backend_name() == "sqlite":
        return "DROP TRIGGER auditevent_no_update; DROP TRIGGER auditevent_no_delete;"
    return "DROP TRIGGER auditevent_append_only ON auditevent;"


# --- the database refuses ------------------------------------------------------------------


def test_the_database_refuses_to_update_an_audit_row(db):
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope(db) as session:
            session.execute(update(TABLE).where(TABLE.c.seq == 2).values(detail="khác"))


def test_the_database_refuses_to_delete_an_audit_row(db):
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope(db) as session:
            session.execute(delete(TABLE).where(TABLE.c.seq == 5))
    with session_scope(db, write=False) as session:
        assert session.execute(text("SELECT count(*) FROM auditevent")).scalar() == 5


def test_a_row_without_its_place_in_the_chain_is_refused(db):
    """Writers that bypass content.audit.write (no seq, no hash) cannot slip rows in."""
    with pytest.raises(DBAPIError):
        with session_scope(db) as session:
            session.execute(insert(TABLE), [_row(9)])


# --- the chain -----------------------------------------------------------------------------


def test_rows_are_chained_in_order_one_head_read_per_call(db):
    with session_scope(db, write=False) as session:
        rows = session.execute(text("SELECT seq, hash FROM auditevent ORDER BY seq")).all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    previous = audit.GENESIS
    for i, r in enumerate(rows, start=1):
        extra = {"actor": "truong-phong", "action": "approve"} if i == 4 else {}
        assert r.hash == audit.chain_hash(previous, i, _row(i, **extra))
        previous = r.hash


def test_the_canonical_form_is_the_same_whatever_zone_the_time_came_in():
    hcm = T0.astimezone(datetime.fromisoformat("2026-01-01T00:00+07:00").tzinfo)
    naive_utc = T0.replace(tzinfo=None)  # what SQLite gives back before the type adds UTC
    assert audit.canonical(1, _row(0, at=hcm)) == audit.canonical(1, _row(0, at=naive_utc))
    assert b'"at":"2026-11-23T01:00:00.000000Z"' in audit.canonical(1, _row(0, at=hcm))


def test_verify_passes_an_intact_log_and_prints_its_head(db, loa):
    code, out, err = loa("audit", "verify")
    assert code == 0, err
    verdict = audit.verify(db)
    assert verdict.intact and verdict.rows == 5 and verdict.head is not None
    assert out == f"audit log intact: 5 rows; head 5:{verdict.head.hash}\n"
    code, out, _ = loa("audit", "verify", "--json")
    data = json.loads(out)
    assert code == 0 and data["intact"] is True and data["rows"] == 5
    assert data["head"]["seq"] == 5 and data["problem"] is None


def test_verify_passes_an_empty_log(engine, loa):
    code, out, _ = loa("audit", "verify")
    assert code == 0 and out == "audit log intact: 0 rows; head none (empty log)\n"


def test_a_row_changed_with_the_database_shell_is_named(db, db_url, loa):
    _shell(
        db_url, _drop_triggers(db_url) + " UPDATE auditevent SET detail = 'sửa lén' WHERE seq = 3;"
    )
    code, out, _ = loa("audit", "verify")
    assert code == 1
    assert out.startswith("audit log BROKEN: audit row seq 3 (id 3, 2026-11-23 11:00:00, edit)")
    assert "was changed" in out
    code, out, _ = loa("audit", "verify", "--json")
    data = json.loads(out)
    assert code == 1 and data["intact"] is False and data["row"]["seq"] == 3
    assert data["rows"] == 2  # rows 1 and 2 were checked good


def test_a_row_rewritten_with_a_new_hash_shows_at_the_next_row(db, db_url, loa):
    forged = audit.chain_hash(_hash_at(db, 2), 3, _row(3, detail="sửa lén"))
    _shell(
        db_url,
        _drop_triggers(db_url)
        + f" UPDATE auditevent SET detail = 'sửa lén', hash = '{forged}' WHERE seq = 3;",
    )
    code, out, _ = loa("audit", "verify")
    assert code == 1 and "audit row seq 4 (id 4" in out and "or seq 3 (id 3" in out


def test_a_row_deleted_with_the_database_shell_is_named(db, db_url, loa):
    _shell(db_url, _drop_triggers(db_url) + " DELETE FROM auditevent WHERE seq = 2;")
    code, out, _ = loa("audit", "verify")
    assert code == 1
    assert out == (
        "audit log BROKEN: audit row seq 2 is missing (deleted) after seq 1 "
        "(id 1, 2026-11-23 09:00:00, edit); the log goes on at seq 3 "
        "(id 3, 2026-11-23 11:00:00, edit)\n"
    )


def test_expect_head_catches_a_deleted_last_row(db, db_url, loa):
    _, out, _ = loa("audit", "verify", "--json")
    noted = f"{json.loads(out)['head']['seq']}:{json.loads(out)['head']['hash']}"
    code, out, _ = loa("audit", "verify", "--expect-head", noted)
    assert code == 0 and "matches the noted head" in out

    _shell(db_url, _drop_triggers(db_url) + " DELETE FROM auditevent WHERE seq = 5;")
    code, out, _ = loa("audit", "verify")
    assert code == 0  # the chain alone cannot tell: what is left is a valid chain
    code, out, _ = loa("audit", "verify", "--expect-head", noted[:18])  # a shortened hash
    assert code == 1
    assert out == (
        "audit log BROKEN: the noted head seq 5 is gone: the log now ends at seq 4, "
        "so rows 5 to 5 were deleted\n"
    )


def test_expect_head_catches_a_rewritten_tail(db, db_url, loa):
    noted = f"5:{_hash_at(db, 5)}"
    previous = _hash_at(db, 4)
    forged = audit.chain_hash(previous, 5, _row(5, detail="sửa lén"))
    _shell(
        db_url,
        _drop_triggers(db_url)
        + f" UPDATE auditevent SET detail = 'sửa lén', hash = '{forged}' WHERE seq = 5;",
    )
    assert loa("audit", "verify")[0] == 0
    code, out, _ = loa("audit", "verify", "--expect-head", noted)
    assert code == 1 and "seq 5 no longer has the noted hash" in out


def test_a_malformed_expected_head_is_one_line_and_exit_2(db, loa):
    code, out, err = loa("audit", "verify", "--expect-head", "5-abc")
    assert code == 2 and out == ""
    assert err.startswith("loa: error: --expect-head: '5-abc' is not a noted head")
    assert len(err.splitlines()) == 1


def _hash_at(engine: Engine, seq: int) -> str:
    with session_scope(engine, write=False) as session:
        return str(
            session.execute(text("SELECT hash FROM auditevent WHERE seq = :s"), {"s": seq}).scalar()
        )


def test_concurrent_writers_keep_one_intact_chain(db_url):
    """Several engines (as several daemons) writing at once, single rows and batches: no two
    rows chain onto the same head, no seq is skipped."""
    open_database(db_url).dispose()
    engines = [make_engine(db_url) for _ in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def writer(n: int, engine: Engine) -> None:
        try:
            start.wait()
            for i in range(15):
                rows = [_row(100 * n + i, actor=f"daemon-{n}")] * (1 + i % 3)
                with session_scope(engine) as session:
                    audit.write(session, rows)
                    time.sleep(0.001)  # hold the transaction a little: interleave them
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n, e)) for n, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    verdict = audit.verify(engines[0])
    assert verdict.intact, verdict.problem
    assert verdict.rows == 4 * sum(1 + i % 3 for i in range(15))
    for e in engines:
        e.dispose()


def test_the_migration_chains_the_rows_written_before_it(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0004")
        for i in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO auditevent (at, actor, action, post_id, detail, before) "
                    "VALUES (:at, :actor, 'create', :post, :detail, :before)"
                ),
                {
                    "at": (T0 + timedelta(minutes=i)).replace(tzinfo=None)
                    if engine.dialect.name == "sqlite"
                    else T0 + timedelta(minutes=i),
                    "actor": "cán-bộ",
                    "post": i,
                    "detail": None if i == 2 else "tạo",
                    "before": json.dumps({"a": [i, "ư"]}),
                },
            )
    upgrade(engine)
    verdict = audit.verify(engine)
    assert verdict.intact, verdict.problem
    assert verdict.rows == 3
    _write(engine, [_row(4)])
    assert audit.verify(engine).rows == 4
    engine.dispose()


# --- reading --------------------------------------------------------------------------------


def test_list_shows_one_line_per_row_in_office_time(db, loa):
    _write(db, [_row(6, actor="can-bo", real_actor="quan-tri", action="approve", post_id=None)])
    code, out, err = loa("audit", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 6
    assert lines[0] == "2026-11-23 09:00  can-bo  edit  post 1  bước 1"
    assert lines[-1] == "2026-11-23 14:00  quan-tri as can-bo  approve  -  bước 6"


def test_list_filters_by_post_user_dates_and_limit(db, loa):
    _write(db, [_row(6, actor="can-bo", real_actor="quan-tri")])

    def seqs(*argv: str) -> list[int]:
        code, out, err = loa("audit", "list", "--json", *argv)
        assert code == 0, err
        return [r["seq"] for r in json.loads(out)]

    assert seqs("--post", "4") == [4]
    assert seqs("--user", " Truong-Phong ") == [4]  # folded like account names
    assert seqs("--user", "QUAN-TRI") == [6]  # who really acted counts too
    assert seqs("--from", "2026-11-23 10:00", "--to", "2026-11-23 12:00") == [2, 3]
    assert seqs("--from", "2026-11-23", "--to", "2026-11-23") == [1, 2, 3, 4, 5, 6]
    assert seqs("--from", "2026-11-24") == []
    assert seqs("--limit", "2") == [5, 6]
    data = json.loads(loa("audit", "list", "--json", "--post", "4")[1])[0]
    assert data["at"] == "2026-11-23T12:00:00+07:00" and data["actor"] == "truong-phong"
    assert data["after"] == {"state": "in_review", "n": 4, "rate": 0.25}


def test_list_refuses_bad_dates_in_one_line(db, loa):
    code, _, err = loa("audit", "list", "--from", "2026-11-24", "--to", "2026-11-23")
    assert code == 2 and err == "loa: error: --to: --to is before --from\n"
    code, _, err = loa("audit", "list", "--from", "hôm qua")
    assert code == 2 and "is not a date" in err and len(err.splitlines()) == 1


def test_list_needs_an_approver_once_accounts_exist(db, loa):
    from content.accounts import os_login

    assert loa("users", "add", os_login(), "--role", "admin")[0] == 0
    assert loa("users", "add", "can-bo", "--role", "author")[0] == 0
    code, _, err = loa("--as", "can-bo", "audit", "list")
    assert code == 2
    assert err.startswith("loa: error: can-bo is an author and may not read the audit log")
    assert loa("--as", "can-bo", "audit", "verify")[0] == 0  # any account may verify
    code, out, _ = loa("audit", "list", "--json")
    assert code == 0 and [r["action"] for r in json.loads(out)][-1] == "user_add"
