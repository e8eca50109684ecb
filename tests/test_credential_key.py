"""The credential key: where it lives is explicit, and the database knows which key it is.

A daemon started with another key than the one the Zalo tokens were stored with refuses at
start with one line naming both fingerprints (exit 2), on SQLite and on PostgreSQL; with
PostgreSQL no key is ever created in the working directory.
"""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, select

from content.db import open_database
from content.models import Credential, KeyFingerprint
from scheduler.channels.credentials import (
    FINGERPRINT_PURPOSE,
    CredentialKeyError,
    TokenStore,
    key_fingerprint,
)
from scheduler.cli import main

CONFIG = """\
[office]
name = "Công an tỉnh Demo"
{office_extra}

[channels.tinh-zalo]
kind = "zalo_oa"
name = "Tỉnh Zalo"
oa_id = "4300000000000000001"
app_id = "3100000000000000001"
# Never called: every test here stops before the first request.
base_url = "http://127.0.0.1:9/zalo"
oauth_url = "http://127.0.0.1:9/zalo-oauth"
app_secret = {{ env = "LOA_TEST_ZALO_SECRET" }}
"""


@pytest.fixture(autouse=True)
def _no_key_from_outside(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets names the key; a key made by mistake lands in tmp_path."""
    monkeypatch.delenv("LOA_CREDENTIAL_KEY", raising=False)
    monkeypatch.delenv("LOA_CREDENTIAL_KEY_FILE", raising=False)
    monkeypatch.setenv("LOA_TEST_ZALO_SECRET", "secret")
    # The English wording is asserted; the Vietnamese one is the catalogue's.
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.chdir(tmp_path)


def _config(tmp_path: Path, office_extra: str = "") -> Path:
    path = tmp_path / "conf" / "channels.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(CONFIG.format(office_extra=office_extra), encoding="utf-8")
    return path


def _recorded(engine: Engine) -> KeyFingerprint | None:
    with Session(engine) as session:
        return session.get(KeyFingerprint, FINGERPRINT_PURPOSE)


def _daemon_once(db_url: str, config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--db", db_url, "--config", str(config), "daemon", "--once"])
    return code, capsys.readouterr().err


def test_fingerprint_is_the_keys_sha256_prefix_never_the_key(engine):
    key = Fernet.generate_key()
    store = TokenStore(engine, key=key)
    row = _recorded(engine)
    assert row is not None
    assert store.fingerprint == row.fingerprint == hashlib.sha256(key).hexdigest()[:16]
    assert key.decode() not in repr(row.model_dump())
    TokenStore(engine, key=key)  # the same key again: accepted, nothing rewritten
    assert _recorded(engine) == row


def test_a_daemon_with_another_key_refuses_in_one_line_naming_both(
    db_url, tmp_path, monkeypatch, capsys
):
    config = _config(tmp_path)
    first, second = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setenv("LOA_CREDENTIAL_KEY", first.decode())
    assert _daemon_once(db_url, config, capsys)[0] == 0

    monkeypatch.setenv("LOA_CREDENTIAL_KEY", second.decode())
    code, err = _daemon_once(db_url, config, capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert key_fingerprint(first) in err and key_fingerprint(second) in err
    assert "LOA_CREDENTIAL_KEY" in err
    assert first.decode() not in err and second.decode() not in err

    # The office's own language when LOA_LANG does not say otherwise.
    monkeypatch.delenv("LOA_LANG")
    code, err = _daemon_once(db_url, config, capsys)
    assert code == 2 and "Sai khóa mã hóa" in err and key_fingerprint(first) in err

    engine = open_database(db_url)
    row = _recorded(engine)
    engine.dispose()
    assert row is not None and row.fingerprint == key_fingerprint(first)  # not overwritten


def test_postgresql_without_a_key_refuses_and_creates_nothing_here(
    pg_url, tmp_path, monkeypatch, capsys
):
    config = _config(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _daemon_once(pg_url, config, capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert "LOA_CREDENTIAL_KEY" in err and "LOA_CREDENTIAL_KEY_FILE" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "loa-credential.key").exists()


def test_postgresql_with_a_named_key_file_creates_it_there_0600(pg_url, tmp_path, monkeypatch):
    key_file = tmp_path / "etc" / "loa.key"
    key_file.parent.mkdir()
    monkeypatch.setenv("LOA_CREDENTIAL_KEY_FILE", str(key_file))
    engine = open_database(pg_url)
    try:
        store = TokenStore(engine)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert store.fingerprint == key_fingerprint(key_file.read_bytes())
    finally:
        engine.dispose()


def test_the_key_file_named_in_channels_toml_is_relative_to_it(
    db_url, tmp_path, monkeypatch, capsys
):
    config = _config(tmp_path, 'credential_key_file = "secrets/loa.key"')
    (config.parent / "secrets").mkdir()
    assert _daemon_once(db_url, config, capsys)[0] == 0
    key_file = config.parent / "secrets" / "loa.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    engine = open_database(db_url)
    row = _recorded(engine)
    engine.dispose()
    assert row is not None and row.fingerprint == key_fingerprint(key_file.read_bytes())

    # LOA_CREDENTIAL_KEY_FILE wins over channels.toml: here a new key, so it is refused.
    other = tmp_path / "other.key"
    monkeypatch.setenv("LOA_CREDENTIAL_KEY_FILE", str(other))
    code, err = _daemon_once(db_url, config, capsys)
    assert code == 2 and f"the key from {other} has fingerprint" in err


def test_tokens_stored_before_fingerprints_keep_their_key(engine):
    """A database upgraded to 0007 has tokens but no fingerprint: only their key records."""
    old_key, other = Fernet.generate_key(), Fernet.generate_key()
    with Session(engine) as session:
        session.add(
            Credential(
                channel="tinh-zalo",
                refresh_token_enc=Fernet(old_key).encrypt(b"refresh").decode(),
                updated_at=datetime(2026, 11, 23, tzinfo=UTC),
            )
        )
        session.commit()
    with pytest.raises(CredentialKeyError) as refused:
        TokenStore(engine, key=other)
    assert refused.value.code == "key_foreign"
    assert refused.value.params["given"] == key_fingerprint(other)
    assert key_fingerprint(other) in str(refused.value)
    assert _recorded(engine) is None
    TokenStore(engine, key=old_key)
    row = _recorded(engine)
    assert row is not None and row.fingerprint == key_fingerprint(old_key)
    with Session(engine) as session:
        assert session.exec(select(Credential)).one().channel == "tinh-zalo"
