"""The unit tree of channels.toml: what an office writes, what it means, and every mistake
said as one line with the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from content.accounts import Accounts, account_channels, identify, unenforced
from content.db import open_database
from content.errors import ValidationError
from content.models import Account, Role
from scheduler.config import ConfigError, load

TREE = """\
[office]
name = "Công an tỉnh Demo"

[channels.tinh-fb]
kind = "facebook"
name = "Tỉnh FB"
page_id = "100000000000001"
token = { env = "FB_TOKEN" }

[channels.p1-fb]
kind = "facebook"
name = "Phường 1 FB"
page_id = "100000000000002"
token = { env = "FB_TOKEN" }

[channels.p1-zalo]
kind = "zalo_oa"
name = "Phường 1 Zalo"
oa_id = "4300000000000000002"
app_id = "3100000000000000001"
app_secret = { env = "ZALO_SECRET" }

[channels.x1-fb]
kind = "facebook"
name = "Xã 1 FB"
page_id = "100000000000003"
token = { env = "FB_TOKEN" }

[groups]
facebook = ["tinh-fb", "p1-fb", "x1-fb"]

[units.tinh]
name = "Công an tỉnh"
channels = ["tinh-fb"]
posts_per_week = 5

[units.p1]
name = "Công an phường 1"
parent = "tinh"
channels = ["p1-fb", "p1-zalo"]

[units.x1]
name = "Công an xã 1"
parent = "tinh"
channels = ["x1-fb"]

[targets]
posts_per_week = 3
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


def test_units_form_a_tree_with_targets(tmp_path):
    units = _load(tmp_path, TREE).directory().units
    assert list(units.units) == ["tinh", "p1", "x1"]
    assert units.children("tinh") == ["p1", "x1"]
    assert [units.depth(u) for u in units.units] == [0, 1, 1]
    assert units.channels_of("tinh") == ("tinh-fb", "p1-fb", "p1-zalo", "x1-fb")
    assert units.channels_of("p1") == ("p1-fb", "p1-zalo")
    # The province names its own target; the wards take [targets]'.
    assert [u.posts_per_week for u in units] == [5, 3, 3]


def test_a_child_written_before_its_parent_still_comes_after_it(tmp_path):
    later = "[units.zz]\nname = 'Phường mới'\nparent = 'x1'\n\n[units.tinh]"
    text = TREE.replace("[units.tinh]", later)
    units = _load(tmp_path, text).directory().units
    assert list(units.units) == ["tinh", "p1", "x1", "zz"]
    assert units.depth("zz") == 2


def test_a_unit_name_works_wherever_a_channel_is_asked(tmp_path):
    directory = _load(tmp_path, TREE).directory()
    assert directory.expand(["p1"]) == ["p1-fb", "p1-zalo"]
    assert directory.expand(["tinh"]) == ["tinh-fb", "p1-fb", "p1-zalo", "x1-fb"]
    # Groups keep working beside units.
    assert directory.expand(["facebook", "p1"]) == ["tinh-fb", "p1-fb", "x1-fb", "p1-zalo"]
    with pytest.raises(ValidationError) as err:
        directory.expand(["p2"])
    assert "p1" in str(err.value) and "facebook" in str(err.value)


def test_an_account_of_a_unit_holds_its_subtree(tmp_path):
    directory = _load(tmp_path, TREE).directory()
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    setup = Accounts(engine, directory, by=unenforced("setup"))
    setup.add("admin", Role.ADMIN)
    admin = identify(engine, directory, os_user="admin")
    accounts = Accounts(engine, directory, by=admin)
    accounts.add("tinh-officer", Role.APPROVER, ["tinh"])
    accounts.add("ward-officer", Role.AUTHOR, ["p1"])
    with pytest.raises(ValidationError, match="unknown unit 'p9'"):
        accounts.add("nobody", Role.AUTHOR, ["p9"])
    province = identify(engine, directory, os_user="tinh-officer")
    ward = identify(engine, directory, os_user="ward-officer")
    assert province.channels == {"tinh-fb", "p1-fb", "p1-zalo", "x1-fb"}
    assert ward.channels == {"p1-fb", "p1-zalo"}
    # A unit later removed from channels.toml is dropped from the account, not an error.
    gone = Account(name="x", role=Role.AUTHOR, units=["p1", "removed"])
    assert account_channels(gone, directory) == {"p1-fb", "p1-zalo"}
    engine.dispose()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('parent = "tinh"\nchannels = ["p1-fb"', 'parent = "tinhh"\nchannels = ["p1-fb"'),
            "channels.toml:39: units.p1.parent: unknown parent 'tinhh'; "
            "expected one of p1, tinh, x1",
        ),
        (
            ('[units.tinh]\nname = "Công an tỉnh"', '[units.tinh]\nname = "T"\nparent = "x1"'),
            "channels.toml:34: units.tinh.parent: the parents go round in a circle: "
            "tinh -> x1 -> tinh",
        ),
        (
            ('channels = ["x1-fb"]', 'channels = ["x1-fb", "p1-zalo"]'),
            "channels.toml:45: units.x1.channels: channel 'p1-zalo' is already in unit 'p1'; "
            "a channel belongs to one unit",
        ),
        (
            ('channels = ["x1-fb"]', 'channels = ["x2-fb"]'),
            "channels.toml:45: units.x1.channels: unknown channel 'x2-fb'; "
            "expected one of p1-fb, p1-zalo, tinh-fb, x1-fb",
        ),
        (
            ("[units.x1]", "[units.facebook]"),
            "channels.toml:42: units.facebook: unit 'facebook' has the same name as a channel "
            "or group",
        ),
        (
            ("[units.x1]", "[units.X1]"),
            "channels.toml:42: units.X1: unit ids use lowercase letters, digits, - and _",
        ),
        (
            ("posts_per_week = 5", "posts_per_week = 2.5"),
            "channels.toml:35: units.tinh.posts_per_week: 2.5 is not a whole number",
        ),
    ],
)
def test_a_mistake_in_the_tree_is_one_line_with_its_place(tmp_path, change, expected):
    old, new = change
    assert old in TREE
    assert _error(tmp_path, TREE.replace(old, new, 1)) == expected


def test_a_campaign_quota_and_deadlines_are_checked(tmp_path):
    quota = (
        '\n[targets.campaigns."Ngày 19-8"]\nfrom = 2026-08-01\nto = 2026-08-19\n'
        'posts_per_unit = 4\nunits = ["p1", "x9"]\n'
    )
    assert _error(tmp_path, TREE + quota) == (
        "channels.toml:54: targets.campaigns.\"Ngày 19-8\".units: unknown unit 'x9'; "
        "expected one of p1, tinh, x1"
    )
    backwards = quota.replace('"p1", "x9"', '"p1"').replace("to = 2026-08-19", "to = 2026-07-19")
    assert _error(tmp_path, TREE + backwards) == (
        'channels.toml:52: targets.campaigns."Ngày 19-8".to: 2026-07-19 is before 2026-08-01'
    )
    reporting = '\n[reporting]\ndeadlines = ["09-05", "13-01"]\n'
    assert _error(tmp_path, TREE + reporting) == (
        "channels.toml:51: reporting.deadlines: '13-01' is not a day of the year; "
        "expected MM-DD, e.g. 09-05"
    )
    good = _load(tmp_path, TREE + quota.replace(', "x9"', "") + reporting.replace("13-01", "10-25"))
    (loaded,) = good.units.quotas
    assert (loaded.campaign, loaded.posts_per_unit, loaded.units) == ("Ngày 19-8", 4, ("p1",))
    assert good.reporting.deadlines == ["09-05", "10-25"]


def test_the_demo_config_has_a_small_tree():
    from tests.conftest import REPO

    config = load(REPO / "channels.toml")
    units = config.directory().units
    assert units.children("tinh") == ["phuong1"]
    assert set(units.channels_of("tinh")) == set(config.channels)
