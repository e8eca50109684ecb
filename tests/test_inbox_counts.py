"""`loa inbox counts --by unit` over the office's unit tree: each unit's own threads and its
total rolled up over the units under it, in text and JSON; an officer counts only his own."""

from __future__ import annotations

import json

from tests.test_inbox_cli import run as run  # noqa: F401 - the fixture


def test_counts_by_unit_roll_the_wards_up_into_the_province(run):
    code, out, _ = run("lan", "inbox", "counts", "--by", "unit", "--json")
    assert code == 0
    counts = json.loads(out)
    assert list(counts) == ["tinh", "phuong1"]  # tree order: the province first
    tinh, ward = counts["tinh"], counts["phuong1"]
    assert (tinh["depth"], ward["parent"], ward["depth"]) == (0, "tinh", 1)
    assert tinh["own"]["open"] == 1 and tinh["total"]["open"] == 2
    assert tinh["total"]["waiting"] == 2
    assert ward["own"] == ward["total"] and ward["total"]["open"] == 1
    code, out, _ = run("lan", "inbox", "counts")
    lines = out.splitlines()
    assert lines[1].startswith("tinh ") and "open 2" in lines[1]
    assert "(own: waiting 1, overdue 0)" in lines[1]
    assert lines[2].startswith("  phuong1 ") and "open 1" in lines[2]


def test_an_officer_of_the_ward_counts_only_his_threads(run):
    assert run("root", "users", "add", "root", "--role", "admin")[0] == 0
    assert run("root", "users", "add", "lan", "--role", "author", "--unit", "phuong1")[0] == 0
    code, out, _ = run("lan", "inbox", "counts", "--json")
    counts = json.loads(out)
    assert counts["tinh"]["total"]["open"] == 1 and counts["tinh"]["own"]["open"] == 0
