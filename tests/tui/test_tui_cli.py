"""`loa tui` and `python tui.py`: options, one-line errors, and no textual at import time."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import tui
from scheduler.cli import tui as tui_command

REPO = Path(__file__).resolve().parents[2]


def test_the_cli_module_does_not_import_textual():
    code = (
        "import sys, scheduler.cli.tui\n"
        "print(any(m.split('.')[0] == 'textual' for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "False"


def test_tui_command_takes_the_common_options():
    parser = argparse.ArgumentParser()
    tui_command.register(parser.add_subparsers())
    args = parser.parse_args(["tui", "--db", "x.db", "--config", "c.toml", "--as", "lan"])
    assert (args.db, args.config, args.as_user, args.handler) == (
        "x.db",
        "c.toml",
        "lan",
        tui_command.run,
    )


def test_missing_config_is_one_line_and_exit_2(tmp_path, capsys):
    code = tui.main(["--config", str(tmp_path / "none.toml"), "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("loa tui: error: ") and err.count("\n") == 1
    assert "none.toml" in err
