"""`loa doctor`: one line per check, and what to do about each failure."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from content.db import make_engine, open_database
from scheduler.channels.base import Health, HealthCheck
from scheduler.cli import main
from scheduler.config import load
from scheduler.doctor import check_channel, check_config, check_database, check_media
from tests.conftest import REPO
from tests.helpers import ScriptedChannel


def test_a_broken_config_is_one_failing_line(tmp_path):
    bad = tmp_path / "channels.toml"
    bad.write_text("[office\n", encoding="utf-8")
    check, config = check_config(str(bad))
    assert config is None and not check.ok
    assert check.line().startswith("FAIL  config")


def test_an_old_schema_says_to_upgrade(sqlite_url):
    engine = open_database(sqlite_url)
    with engine.begin() as conn:  # as a database left by an older Loa
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    check = check_database(engine)
    assert not check.ok
    assert check.line().endswith("-> run `loa db upgrade`")


def test_a_brand_new_database_is_not_a_failure(sqlite_url):
    check = check_database(make_engine(sqlite_url))
    assert check.ok and "new and empty" in check.line()


def test_an_unreachable_platform_is_not_a_token_to_renew():
    class Unreachable(ScriptedChannel):
        async def health(self) -> Health:
            return Health(
                [
                    HealthCheck("token", True, "not asked"),
                    HealthCheck("page", False, "Facebook GET /me: ConnectError"),
                ]
            )

    check = asyncio.run(check_channel("tinh-fb", Unreachable("tinh-fb")))
    assert not check.ok
    assert "renew the token" not in check.line() and "network" in check.line()


def test_an_upgraded_database_passes(sqlite_url):
    assert check_database(open_database(sqlite_url)).ok


def test_a_channel_with_a_dead_token_fails_with_advice():
    class Expired(ScriptedChannel):
        async def health(self) -> Health:
            return Health([HealthCheck("token", False, "(#190) Session has expired")])

    check = asyncio.run(check_channel("tinh-fb", Expired("tinh-fb")))
    assert not check.ok
    assert "Session has expired" in check.line() and "renew the token" in check.line()


def test_the_media_directory_must_be_writable(tmp_path):
    config = load(REPO / "channels.toml")
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    media = config.media.model_copy(update={"directory": blocked / "media"})
    from dataclasses import replace

    assert not check_media(replace(config, media=media)).ok


def test_doctor_exits_1_when_a_check_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = open_database(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:  # a schema an older Loa left
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    engine.dispose()
    code = main(
        [
            "doctor",
            "--skip-channels",
            "--db",
            str(tmp_path / "x.db"),
            "--config",
            str(REPO / "channels.toml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("ok    config")
    assert "FAIL  database" in out


def test_a_channel_names_what_to_grant_and_keeps_a_warning_beside_a_failure():
    class MissingScope(ScriptedChannel):
        async def health(self) -> Health:
            return Health(
                [
                    HealthCheck(
                        "graph version",
                        True,
                        "Graph API v21.0 ends on 2027-01-21",
                        advice='set graph_version = "v26.0"',
                        warning=True,
                    ),
                    HealthCheck(
                        "permissions",
                        False,
                        "the Page token lacks pages_manage_posts",
                        advice="grant pages_manage_posts",
                    ),
                ]
            )

    line = asyncio.run(check_channel("tinh-fb", MissingScope("tinh-fb"))).line()
    assert line.startswith("FAIL")
    assert line.endswith('-> grant pages_manage_posts; set graph_version = "v26.0"')
    assert "renew the token" not in line


def test_a_warning_alone_is_a_warn_line_with_its_advice():
    class OldVersion(ScriptedChannel):
        async def health(self) -> Health:
            return Health(
                [
                    HealthCheck("token", True, "Page token, never expires"),
                    HealthCheck(
                        "graph version", True, "ends soon", advice="update it", warning=True
                    ),
                ]
            )

    check = asyncio.run(check_channel("tinh-fb", OldVersion("tinh-fb")))
    assert check.ok and check.warning
    assert check.line().startswith("warn") and check.line().endswith("-> update it")
