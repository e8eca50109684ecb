"""Every file Loa writes for the user is private (600), or shared with the office's group (660)
when LOA_SHARED_GROUP names one; never 644 for every local user to read."""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from content.files import SHARED_GROUP_ENV, FileWriteError, private_file, write_private
from scheduler.cli import main
from tests.conftest import REPO


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask(monkeypatch) -> Iterator[None]:
    """The umask most systems have (022): without care, files would come out 644."""
    monkeypatch.delenv(SHARED_GROUP_ENV, raising=False)
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def loa(sqlite_url, capsys, monkeypatch):
    """Run `loa` with the repository's channels.toml on a fresh SQLite database."""
    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    # The English wording is asserted; the Vietnamese CLI has its own tests.
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", sqlite_url, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def own_group() -> str:
    return grp.getgrgid(os.getgid()).gr_name


# --- the helper ----------------------------------------------------------------------------


def test_write_private_makes_a_600_file_and_tightens_an_existing_644_one(tmp_path):
    new = tmp_path / "new.csv"
    write_private(new, "ngày,bài\n")
    assert mode(new) == 0o600 and new.read_text(encoding="utf-8") == "ngày,bài\n"
    old = tmp_path / "old.csv"
    old.write_text("cũ")
    os.chmod(old, 0o644)
    write_private(old, "mới".encode())
    assert mode(old) == 0o600 and old.read_bytes() == b"m\xe1\xbb\x9bi"


def test_a_shared_group_gives_660_to_that_group(tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_GROUP_ENV, own_group())
    path = tmp_path / "shared.html"
    write_private(path, "<p>báo cáo</p>")
    assert mode(path) == 0o660 and path.stat().st_gid == os.getgid()


def test_an_unknown_shared_group_is_one_clear_error_and_nothing_is_written(tmp_path):
    with pytest.raises(FileWriteError, match=r"LOA_SHARED_GROUP=khong-co: there is no such group"):
        write_private(tmp_path / "x.csv", "a", group="khong-co")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with private_file(path) as out:
            out.write(b"half")
            raise RuntimeError("renderer crashed")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.csv"]


def test_a_missing_directory_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(
        FileWriteError, match=r"cannot write .*/nope/x.csv: no such file or directory"
    ):
        write_private(tmp_path / "nope" / "x.csv", "a")


# --- each writer ---------------------------------------------------------------------------


def test_post_export_is_private(loa, tmp_path):
    for fmt in ("csv", "json"):
        out = tmp_path / f"posts.{fmt}"
        code, _, err = loa("post", "export", "--format", fmt, "-o", str(out))
        assert code == 0, err
        assert mode(out) == 0o600


def test_report_range_files_are_private(loa, tmp_path):
    for fmt in ("csv", "html", "xlsx"):
        out = tmp_path / f"range.{fmt}"
        code, _, err = loa(
            "report", "range", "--from", "2026-11-01", "--to", "2026-11-30", "--format", fmt,
            "--out", str(out),
        )  # fmt: skip
        assert code == 0, err
        assert mode(out) == 0o600, fmt
    assert (tmp_path / "range.xlsx").read_bytes()[:2] == b"PK"  # a real workbook


def test_weekly_report_preview_files_are_private(loa, tmp_path):
    code, _, err = loa("report", "weekly", "--week", "2026-W47", "--out", str(tmp_path / "p"))
    assert code == 0, err
    files = sorted((tmp_path / "p").iterdir())
    assert len(files) == 4
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_rendered_infographics_are_private(loa, tmp_path):
    for argv in (["-o", str(tmp_path / "a.png")], ["-o", str(tmp_path / "b.jpg")]):
        code, _, err = loa(
            "render", "--template", "warning", "--field", "title=Cảnh giác lừa đảo",
            "--field", "body=Gọi 113.", *argv,
        )  # fmt: skip
        assert code == 0, err
    code, _, err = loa(
        "render", "--template", "warning", "--field", "title=Cảnh giác lừa đảo", "--field",
        "body=Gọi 113.", "--for", "zalo_oa", "-o", str(tmp_path / "c.jpg"),
    )  # fmt: skip
    assert code == 0, err
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
        "a.png": 0o600,
        "b.jpg": 0o600,
        "c.jpg": 0o600,
    }


def test_an_unknown_shared_group_in_a_command_is_one_line_and_exit_2(loa, tmp_path, monkeypatch):
    assert loa("post", "list")[0] == 0  # the database exists: the export is what fails
    monkeypatch.setenv(SHARED_GROUP_ENV, "khong-co")
    code, _, err = loa("post", "export", "-o", str(tmp_path / "x.csv"))
    assert code == 2 and len(err.splitlines()) == 1
    assert err == "loa: error: LOA_SHARED_GROUP=khong-co: there is no such group on this machine\n"


def test_a_new_sqlite_database_is_shared_with_the_offices_group(tmp_path, monkeypatch):
    """Officers signing in over SSH as themselves share the database through the group."""
    from content.db import open_database

    monkeypatch.setenv(SHARED_GROUP_ENV, own_group())
    db = tmp_path / "loa.db"
    engine = open_database(f"sqlite:///{db}")
    engine.dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o660
    assert grp.getgrgid(db.stat().st_gid).gr_name == own_group()


def test_an_unknown_group_for_a_new_database_is_one_line_and_no_file(tmp_path, monkeypatch):
    from content.db import DatabaseError, open_database

    monkeypatch.setenv(SHARED_GROUP_ENV, "khong-co")
    with pytest.raises(DatabaseError, match="LOA_SHARED_GROUP=khong-co: there is no such group"):
        open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    assert not (tmp_path / "loa.db").exists()
