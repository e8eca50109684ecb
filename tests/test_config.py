"""channels.toml: the shipped file loads, and every mistake is one line with file, line and key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.config import ConfigError, find_config, load
from tests.conftest import REPO

GOOD = """\
[office]
name = "Công an tỉnh Demo"
timezone = "Asia/Ho_Chi_Minh"

[channels.tinh-fb]
kind = "facebook"
name = "Tỉnh"
page_id = "100000000000001"
token = { env = "FB_TOKEN" }

[channels.tinh-zalo]
kind = "zalo_oa"
name = "Tỉnh Zalo"
oa_id = "4300000000000000001"
app_id = "3100000000000000001"
app_secret = { env = "ZALO_SECRET" }

[groups]
all = ["tinh-fb", "tinh-zalo"]
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    return load(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, text)
    message = str(err.value)
    assert "\n" not in message
    return message.replace(str(tmp_path) + "/", "")


def test_the_repository_channels_toml_describes_the_demo_units():
    config = load(REPO / "channels.toml")
    kinds = sorted(c.kind for c in config.channels.values())
    assert kinds == ["facebook", "facebook", "zalo_oa", "zalo_oa"]
    assert all(c.base_url.startswith("http://127.0.0.1:") for c in config.channels.values())
    assert config.directory().office.timezone.key == "Asia/Ho_Chi_Minh"


def test_groups_expand_to_their_channels(tmp_path):
    directory = _load(tmp_path, GOOD).directory()
    assert directory.expand(["all"]) == ["tinh-fb", "tinh-zalo"]


def test_bad_toml_names_the_line(tmp_path):
    message = _error(tmp_path, GOOD.replace('name = "Tỉnh"', 'name = "Tỉnh'))
    assert message.startswith("channels.toml:7: not valid TOML")


def test_an_unknown_kind_names_the_line_and_key(tmp_path):
    message = _error(tmp_path, GOOD.replace('kind = "facebook"', 'kind = "tiktok"'))
    assert message == (
        "channels.toml:6: channels.tinh-fb.kind: unknown kind 'tiktok'; expected facebook, zalo_oa"
    )


def test_an_inline_secret_is_refused(tmp_path):
    message = _error(tmp_path, GOOD.replace('{ env = "FB_TOKEN" }', '"EAAB-real-token"'))
    assert message.startswith("channels.toml:9: channels.tinh-fb.token: inline secrets are not")
    assert "EAAB-real-token" not in message


def test_a_missing_page_id_names_the_table(tmp_path):
    message = _error(tmp_path, GOOD.replace('page_id = "100000000000001"\n', ""))
    assert message.startswith("channels.toml:5: channels.tinh-fb.page_id: missing")


def test_a_malformed_page_id_says_what_is_expected(tmp_path):
    message = _error(tmp_path, GOOD.replace('"100000000000001"', '"my-page"'))
    assert message == (
        "channels.toml:8: channels.tinh-fb.page_id: 'my-page' is not valid; "
        "expected the Page's numeric id"
    )


def test_an_unknown_key_is_refused(tmp_path):
    message = _error(tmp_path, GOOD.replace('page_id = "1', 'pageid = "2"\npage_id = "1'))
    assert message.startswith("channels.toml:8: channels.tinh-fb.pageid: unknown key")


def test_an_unknown_time_zone_is_refused(tmp_path):
    message = _error(tmp_path, GOOD.replace("Asia/Ho_Chi_Minh", "Asia/Hanoi_City"))
    assert message.startswith("channels.toml:3: office.timezone: unknown time zone")


def test_a_group_naming_an_unknown_channel_is_refused(tmp_path):
    message = _error(tmp_path, GOOD.replace('all = ["tinh-fb"', 'all = ["xa-fb"'))
    assert message.startswith("channels.toml:19: groups.all: unknown channel 'xa-fb'")


def test_a_secrets_file_readable_by_others_is_refused(tmp_path):
    secret = tmp_path / "fb.token"
    secret.write_text("EAAB-secret")
    os.chmod(secret, 0o644)
    text = GOOD.replace('{ env = "FB_TOKEN" }', '{ file = "fb.token" }')
    message = _error(tmp_path, text)
    assert "readable by group or others (mode 0644)" in message
    assert message.startswith("channels.toml:9: channels.tinh-fb.token")


def test_a_private_secrets_file_is_read_when_needed(tmp_path):
    secret = tmp_path / "fb.token"
    secret.write_text("EAAB-secret\n")
    os.chmod(secret, 0o600)
    config = _load(tmp_path, GOOD.replace('{ env = "FB_TOKEN" }', '{ file = "fb.token" }'))
    assert config.channels["tinh-fb"].token.resolve() == "EAAB-secret"


def test_an_unset_environment_secret_names_the_variable(tmp_path):
    config = _load(tmp_path, GOOD)
    with pytest.raises(ConfigError, match="environment variable FB_TOKEN is not set"):
        config.channels["tinh-fb"].token.resolve({})


def test_a_missing_config_file_says_how_to_point_at_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOA_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="configuration file not found; pass --config"):
        find_config(None)
