"""Accounts and roles: who is acting comes from the OS login (or a web sign-in), not from
what a user types, and every refusal is one line, exit 2, with nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

import pytest
from sqlalchemy import func, select

from content.accounts import (
    WEB_IDLE,
    AccessDenied,
    Accounts,
    fold,
    identify,
    os_login,
    session_account,
    sign_in,
    unenforced,
)
from content.db import open_database, session_scope
from content.errors import ValidationError
from content.models import AuditEvent, Post, Role
from content.ui import data
from scheduler.cli import main
from scheduler.config import load
from scheduler.doctor import check_accounts
from tests.conftest import REPO

PASSWORD = "mật khẩu dài 2026"


@pytest.fixture
def office(db_url, engine, capsys, monkeypatch):
    """The repository's office (require_second_approver) with four accounts:

    root (admin, the OS user of the first commands), chi and tu (approvers of the wards),
    lan (author of the wards). ``office.run(os_user, *argv)`` runs `loa` as that OS login.
    """
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    # The English wording is asserted; the Vietnamese CLI has its own tests.
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    class Office:
        url = db_url

        def run(self, os_user: str, *argv: str) -> tuple[int, str, str]:
            monkeypatch.setattr("scheduler.cli.common.os_login", lambda: os_user)
            code = main(["--db", db_url, *argv])
            out, err = capsys.readouterr()
            return code, out, err

        def posts(self) -> int:
            engine = open_database(db_url)
            try:
                with session_scope(engine, write=False) as session:
                    return int(session.exec(select(func.count()).select_from(Post)).one()[0])
            finally:
                engine.dispose()

        def audit(self) -> list[AuditEvent]:
            engine = open_database(db_url)
            try:
                with session_scope(engine, write=False) as session:
                    return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).scalars())
            finally:
                engine.dispose()

    o = Office()
    assert o.run("root", "users", "add", "root", "--role", "admin")[0] == 0
    assert o.run("root", "users", "add", "chi", "--role", "approver", "--unit", "wards")[0] == 0
    assert o.run("root", "users", "add", "tu", "--role", "approver", "--unit", "wards")[0] == 0
    assert o.run("root", "users", "add", "lan", "--role", "author", "--unit", "wards")[0] == 0
    return o


def _add(office, who: str, channel: str = "wards") -> tuple[int, str, str]:
    return office.run(
        who,
        "post",
        "add",
        "--channel",
        channel,
        "--title",
        "Cảnh giác lừa đảo",
        "--text",
        "Không chuyển tiền cho người lạ",
        "--at",
        "2030-01-02 09:00",
        "--submit",
    )


def _refused(result: tuple[int, str, str], *words: str) -> None:
    code, out, err = result
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith("loa: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err


# --- who is acting ------------------------------------------------------------------------


def test_a_vietnamese_office_manages_accounts_in_vietnamese(office, monkeypatch):
    monkeypatch.setenv("LOA_LANG", "vi")
    code, out, err = office.run("root", "users", "disable", "tu")
    assert code == 0, err
    assert out.startswith("đã cập nhật tu ") and out.rstrip().endswith("wards  [đã khoá]")
    assert "root                 admin     (mọi kênh)\n" in office.run("root", "users", "list")[1]
    code, out, _ = office.run("root", "audit", "verify")
    assert code == 0 and out.startswith("nhật ký kiểm tra nguyên vẹn: ")


def test_names_are_one_person_whatever_the_case_spaces_or_unicode_form():
    decomposed = unicodedata.normalize("NFD", "Ân")
    assert fold("Alice") == fold(" alice") == "alice"
    assert fold(decomposed) == fold("ân") == "ân"


def test_the_os_login_is_the_kernels_user_not_the_user_variable(monkeypatch):
    real = os_login()
    monkeypatch.setenv("USER", "chief")
    monkeypatch.setenv("LOGNAME", "chief")
    assert os_login() == real


def test_an_os_user_without_an_account_is_refused_once_accounts_exist(office):
    _refused(office.run("nam", "post", "list"), "nam has no Loa account", "loa users add nam")
    _refused(_add(office, "nam"), "no Loa account")
    assert office.posts() == 0


def test_without_accounts_loa_runs_as_before(db_url, capsys, monkeypatch):
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    monkeypatch.setattr("scheduler.cli.common.os_login", lambda: "anyone")
    assert main(["--db", db_url, "--as", "Can-Bo ", "post", "list"]) == 0
    engine = open_database(db_url)
    access = identify(engine, load(REPO / "channels.toml").directory(), os_user="anyone")
    engine.dispose()
    assert not access.enforced and access.actor == "anyone"


def test_a_disabled_account_is_refused_and_nothing_is_written(office):
    assert office.run("root", "users", "disable", "lan")[0] == 0
    _refused(_add(office, "lan"), "lan is disabled", "loa users enable lan")
    assert office.posts() == 0
    assert office.run("root", "users", "enable", "lan")[0] == 0
    assert _add(office, "lan")[0] == 0


def test_only_an_admin_may_act_for_another(office):
    _refused(office.run("lan", "--as", "chi", "post", "list"), "only an admin", "--as")
    assert _add(office, "lan")[0] == 0
    _refused(office.run("chi", "--as", "tu", "post", "approve", "1"), "only an admin")
    assert office.audit()[-1].action == "submit"


def test_an_admin_acting_for_another_is_audited_under_both_names(office):
    code, _, err = office.run("root", "--as", "Lan", *_add_argv())
    assert code == 0, err
    create = [e for e in office.audit() if e.action == "create"][0]
    assert (create.actor, create.real_actor, create.os_user) == ("lan", "root", "root")
    code, out, _ = office.run("root", "post", "show", "1")
    assert "  lan (by root): created\n" in out


def _add_argv() -> list[str]:
    return [
        "post",
        "add",
        "--channel",
        "wards",
        "--title",
        "Tiêu đề",
        "--text",
        "Nội dung",
        "--at",
        "2030-01-02 09:00",
        "--submit",
    ]


# --- the four-eyes rule and units -----------------------------------------------------------


def test_an_approver_cannot_approve_his_own_post(office):
    assert _add(office, "chi")[0] == 0
    _refused(office.run("chi", "post", "approve", "1"), "chi wrote it", "second approver")
    code, out, err = office.run("tu", "post", "approve", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["posts"][0]["approved_by"] == "tu"


def test_an_admin_cannot_approve_what_he_wrote_for_someone_else(office):
    assert office.run("root", "--as", "lan", *_add_argv())[0] == 0
    _refused(office.run("root", "post", "approve", "1"), "root wrote it")


def test_an_author_cannot_approve(office):
    assert _add(office, "lan")[0] == 0
    _refused(office.run("lan", "post", "approve", "1"), "lan is an author", "needs an approver")


def test_writing_outside_ones_units_is_refused(office):
    _refused(_add(office, "lan", channel="tinh-fb"), "tinh-fb", "outside his units")
    assert office.posts() == 0


def test_approving_outside_ones_units_is_refused(office):
    assert _add(office, "root", channel="tinh-fb")[0] == 0
    _refused(office.run("chi", "post", "approve", "1"), "outside his units")
    assert office.audit()[-1].action == "submit"


def test_an_officer_sees_only_posts_of_his_units(office):
    assert _add(office, "root", channel="tinh-fb")[0] == 0
    assert _add(office, "lan")[0] == 0
    code, out, _ = office.run("lan", "post", "list", "--json")
    assert [p["id"] for p in json.loads(out)] == [2]
    _refused(office.run("lan", "post", "show", "1"), "not in lan's units")
    code, out, _ = office.run("root", "post", "list", "--json")
    assert [p["id"] for p in json.loads(out)] == [1, 2]
    engine = open_database(office.url)
    directory = load(REPO / "channels.toml").directory()
    access = identify(engine, directory, os_user="lan")
    page = data.load_queue(engine, data.QueueQuery(), visible=access.channels)
    engine.dispose()
    assert [row.id for row in page.rows] == [2] and page.total == 1


# --- managing accounts -----------------------------------------------------------------------


def test_only_admins_manage_accounts_and_the_last_admin_stays(office):
    _refused(office.run("chi", "users", "add", "nam", "--role", "author"), "only an admin")
    _refused(office.run("root", "users", "disable", "root"), "last active admin")
    _refused(office.run("root", "users", "set-role", "root", "author"), "last active admin")
    _refused(office.run("root", "users", "add", "LAN", "--role", "author"), "already exists")
    code, out, _ = office.run("root", "users", "list", "--json")
    listed = {u["name"]: u for u in json.loads(out)}
    assert sorted(listed) == ["chi", "lan", "root", "tu"]
    assert listed["lan"] == {
        "name": "lan",
        "role": "author",
        "units": ["wards"],
        "active": True,
        "web_password": False,
    }


def test_account_changes_are_audited(office):
    office.run("root", "users", "set-role", "lan", "approver")
    event = office.audit()[-1]
    assert (event.action, event.actor, event.detail) == ("user_role", "root", "account lan")
    assert (event.before or {})["role"] == "author" and (event.after or {})["role"] == "approver"


def test_a_person_sets_his_own_web_password_but_not_anothers(office, monkeypatch):
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    assert office.run("lan", "users", "passwd", "lan", "--password-stdin")[0] == 0
    monkeypatch.setattr("sys.stdin", _Lines(PASSWORD))
    _refused(office.run("lan", "users", "passwd", "chi", "--password-stdin"), "only an admin")
    monkeypatch.setattr("sys.stdin", _Lines("short"))
    _refused(office.run("lan", "users", "passwd", "lan", "--password-stdin"), "too short")


class _Lines:
    def __init__(self, line: str) -> None:
        self.line = line

    def readline(self) -> str:
        return self.line + "\n"


# --- the library: first account, sign-in, sessions ------------------------------------------


def test_the_first_account_must_be_an_admin(engine, directory):
    accounts = Accounts(engine, directory, by=unenforced("setup"))
    with pytest.raises(ValidationError, match="first account must be an admin"):
        accounts.add("lan", Role.AUTHOR)
    with pytest.raises(ValidationError, match="not a user name"):
        accounts.add("lan nguyen", Role.ADMIN)


def test_web_sign_in_sessions_expire_when_idle_and_end_when_disabled(engine, directory, clock):
    setup = Accounts(engine, directory, by=unenforced("setup"), clock=clock)
    setup.add("Root", Role.ADMIN)
    admin = identify(engine, directory, os_user="root", clock=clock)
    accounts = Accounts(engine, directory, by=admin, clock=clock)
    accounts.add("lan", Role.AUTHOR, ["fb"])
    accounts.set_password("lan", PASSWORD)
    with pytest.raises(AccessDenied, match="wrong user name or password"):
        sign_in(engine, "lan", "sai mật khẩu rồi", remote="10.0.0.7", clock=clock)
    with pytest.raises(AccessDenied, match="wrong user name or password"):
        sign_in(engine, "nobody", PASSWORD, clock=clock)
    token = sign_in(engine, " LAN", PASSWORD, remote="10.0.0.7", clock=clock)
    web = identify(engine, directory, os_user="www-data", web_token=token, clock=clock)
    assert (web.actor, web.os_user, web.channels) == ("lan", None, frozenset({"tinh-fb", "xa-fb"}))
    clock.advance(seconds=WEB_IDLE.total_seconds() - 1)
    assert session_account(engine, token, clock=clock) == "lan"  # used: kept alive
    clock.advance(seconds=WEB_IDLE.total_seconds() + 1)
    assert session_account(engine, token, clock=clock) is None
    token = sign_in(engine, "lan", PASSWORD, clock=clock)
    accounts.disable("lan")
    with pytest.raises(AccessDenied, match="expired"):
        identify(engine, directory, os_user="www-data", web_token=token, clock=clock)
    with session_scope(engine, write=False) as session:
        actions = [
            (e.action, e.actor, e.detail)
            for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).scalars()
            if e.action.startswith("sign_in")
        ]
    assert actions == [
        ("sign_in_failed", "lan", "web from 10.0.0.7"),
        ("sign_in_failed", "nobody", "web"),
        ("sign_in", "lan", "web from 10.0.0.7"),
        ("sign_in", "lan", "web"),
    ]


def test_a_loa_command_starts_without_hashing_a_password():
    """The hash an unknown name is checked against (~0.3 s of argon2) is made at the first
    sign-in, not when a command that never signs anyone in starts."""
    code = (
        "import argon2\n"
        "def refuse(*a, **k): raise SystemExit('hashed at import')\n"
        "argon2.PasswordHasher.hash = refuse\n"
        "import content.accounts, scheduler.cli\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_access_may_not_touch_what_its_role_does_not_allow():
    author = unenforced("lan")
    author = type(author)(actor="lan", real="lan", role=Role.AUTHOR, channels=frozenset({"a"}))
    with pytest.raises(AccessDenied) as refused:
        author.require(Role.APPROVER, "approve posts")
    assert (refused.value.code, refused.value.params["needed"]) == ("role", "approver")
    with pytest.raises(AccessDenied) as refused:
        author.require_channels(["a", "b"], "write posts")
    assert refused.value.params["channels"] == ["b"]
    assert author.sees_any(["b", "a"]) and not author.sees_any(["b"])


def test_doctor_warns_until_two_people_can_approve(engine, directory):
    config = load(REPO / "channels.toml")  # require_second_approver = true
    check = check_accounts(engine, config)
    assert check.ok and check.line().startswith("warn  accounts")
    assert "four-eyes rule is not enforced" in check.line()
    Accounts(engine, directory, by=unenforced("setup")).add("root", Role.ADMIN)
    assert "one approver cannot approve his own posts" in check_accounts(engine, config).line()
    admin = identify(engine, directory, os_user="root")
    Accounts(engine, directory, by=admin).add("chi", Role.APPROVER)
    line = check_accounts(engine, config).line()
    assert line.startswith("ok    accounts") and "1 approver, 1 admin" in line
