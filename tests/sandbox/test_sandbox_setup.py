"""Identities, demo environment, generated channels and saved state."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx

from sandbox.config import build_config, config_from_dict
from sandbox.demo import demo_environment
from sandbox.testing import running_sandbox
from tests.sandbox.conftest import article_body, jpeg_bytes

REPO = Path(__file__).resolve().parents[2]


def test_demo_environment_covers_every_secret_channels_toml_references() -> None:
    channels = tomllib.loads((REPO / "channels.toml").read_text(encoding="utf-8"))["channels"]
    names = {
        ref["env"]
        for channel in channels.values()
        for ref in channel.values()
        if isinstance(ref, dict) and "env" in ref
    }
    assert names == set(demo_environment())


def test_demo_tokens_work_against_a_sandbox_with_the_same_seed() -> None:
    env = demo_environment(seed=5)
    with running_sandbox(seed=5) as sb:
        page = httpx.get(
            f"{sb.graph_url}/v21.0/100000000000002",
            params={"access_token": env["LOA_TOKEN_PHUONG1_FB"]},
        )
        assert page.json()["name"] == "Công an phường 1"
        refreshed = httpx.post(
            f"{sb.zalo_oauth_url}/v4/oa/access_token",
            data={
                "app_id": "3100000000000000001",
                "grant_type": "refresh_token",
                "refresh_token": env["LOA_REFRESH_TINH_ZALO"],
            },
            headers={"secret_key": env["LOA_ZALO_APP_SECRET"]},
        )
        assert refreshed.json()["expires_in"] == "90000"


def test_a_seed_description_can_create_50_channels_of_each_kind() -> None:
    config = build_config(seed=3, pages=50, oas=50)
    assert len({p.page_id for p in config.pages}) == 50
    assert len({o.oa_id for o in config.oas}) == 50
    assert config.pages[0].page_id == "100000000000001"


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    with running_sandbox(state_path=str(state)) as sb:
        token = sb.page_token()
        post = httpx.post(
            f"{sb.graph_url}/v21.0/{sb.page_ids[0]}/feed",
            data={"message": "Còn đó", "access_token": token},
        ).json()["id"]
        refresh = sb.tokens()["zalo"]["oas"][sb.oa_ids[0]]["refresh_token"]
        sb.zalo_access_token()
    with running_sandbox(state_path=str(state)) as sb:
        assert [p["id"] for p in sb.posts()] == [post]
        assert sb.refresh_token() != refresh  # the rotation survived too


def _imported_after(statement: str) -> list[str]:
    code = (
        f"import sys\n{statement}\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(tops & {'scheduler', 'content', 'sandbox'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip())


def test_sandbox_imports_neither_scheduler_nor_content() -> None:
    walk = (
        "import importlib, pkgutil, sandbox\n"
        "for i in pkgutil.walk_packages(sandbox.__path__, 'sandbox.'):\n"
        "    importlib.import_module(i.name)"
    )
    assert _imported_after(walk) == ["sandbox"]


def test_the_cli_module_imports_the_sandbox_only_when_run() -> None:
    assert "sandbox" not in _imported_after("import scheduler.cli.sandbox")


def test_config_round_trips_through_json_and_accepts_counts() -> None:
    config = build_config(seed=4, pages=3, faults={"*": {"error_rate": 0.1}})
    again = config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert len(config_from_dict({"seed": 4, "pages": 50, "oas": 50}).oas) == 50


def test_covers_in_the_served_media_directory_verify(tmp_path: Path) -> None:
    with running_sandbox(media_dir=str(tmp_path), verify_pending_polls=0) as sb:
        (tmp_path / "cover.jpg").write_bytes(jpeg_bytes())  # created after start-up
        headers = {"access_token": sb.zalo_access_token()}
        body = article_body(f"{sb.url}/media/cover.jpg")
        token = httpx.post(f"{sb.zalo_url}/v2.0/article/create", json=body, headers=headers)
        verify = httpx.post(
            f"{sb.zalo_url}/v2.0/article/verify",
            json={"token": token.json()["data"]["token"]},
            headers=headers,
        )
        assert verify.json()["error"] == 0
