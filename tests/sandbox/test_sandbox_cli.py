"""`loa sandbox`: flags, errors, and a real server answering a publish call."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from content.errors import LoaError
from sandbox.demo import demo_environment
from scheduler.cli.sandbox import build_sandbox_config, register, run

REPO = Path(__file__).resolve().parents[2]


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="loa")
    register(parser.add_subparsers())
    return parser.parse_args(["sandbox", *argv])


def test_defaults_are_loopback_port_8765_and_the_run_handler() -> None:
    args = _parse()
    assert (args.host, args.port, args.handler) == ("127.0.0.1", "8765", run)


def test_bad_latency_is_one_clear_line() -> None:
    with pytest.raises(LoaError) as caught:
        build_sandbox_config(_parse("--latency-ms", "x"))
    assert str(caught.value) == "--latency-ms: expected A-B in milliseconds, got 'x'"


def test_bad_fail_rate_is_refused() -> None:
    with pytest.raises(LoaError, match="--fail-rate"):
        build_sandbox_config(_parse("--fail-rate", "2"))


def test_latency_and_fail_rate_become_default_faults() -> None:
    config = build_sandbox_config(_parse("--latency-ms", "10-30", "--fail-rate", "0.1"))
    spec = config.faults["*"]
    assert (spec.latency_ms, spec.error_rate) == ((10.0, 30.0), 0.1)


def test_print_env_prints_the_demo_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_parse("--print-env", "--seed", "9")) == 0
    out = capsys.readouterr().out
    for name, value in demo_environment(9).items():
        assert f"export {name}={value}" in out


def test_the_command_serves_a_publish_call(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import argparse, sys\n"
        "from scheduler.cli.sandbox import register\n"
        "p = argparse.ArgumentParser(); register(p.add_subparsers())\n"
        "a = p.parse_args(sys.argv[1:])\n"
        "sys.exit(a.handler(a))\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, "sandbox", "--port", str(port), "--seed", "4"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(2)]
        assert f"http://127.0.0.1:{port}/graph" in banner[1]
        token = demo_environment(4)["LOA_TOKEN_TINH_FB"]
        # The socket listens before the banner is printed: no waiting needed.
        response = httpx.post(
            f"http://127.0.0.1:{port}/graph/v21.0/100000000000001/feed",
            data={"message": "Từ dòng lệnh", "access_token": token},
        )
        assert response.status_code == 200
        assert response.json()["id"].startswith("100000000000001_")
    finally:
        process.terminate()
        process.wait(timeout=10)
