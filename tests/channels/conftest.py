"""Channel-client fixtures: a sandbox over real HTTP, a channels.toml pointing at it, a database.

One sandbox serves a whole test module (starting one costs a thread and a socket); every test
gets it reset. Tests that need other sandbox knobs start their own with ``running_sandbox``.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from cryptography.fernet import Fernet
from PIL import Image
from sqlalchemy import Engine

from content.db import open_database
from sandbox.testing import SandboxHandle, running_sandbox
from scheduler.channels.media_serve import media_app
from scheduler.config import Config, load

PAGE_ID = "100000000000001"
OA_ID = "4300000000000000001"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clients honour proxy variables (offices need that); loopback tests must not."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Env:
    """Everything a channel test needs: sandbox, config, database, media store."""

    sb: SandboxHandle
    config: Config
    engine: Engine
    media_dir: Path
    media_url: str


def write_config(
    path: Path,
    sb: SandboxHandle,
    *,
    media_url: str,
    media_dir: Path,
    timeout: float = 5.0,
    broadcast: bool = False,
    metrics: list[str] | None = None,
    facebook_extra: str = "",
    graph_version: str = "v21.0",
) -> Path:
    """A channels.toml with one Page and one OA pointing at ``sb``.

    ``facebook_extra`` is added to the Page's table as written (e.g. an ``app_secret`` line).
    """
    metric_line = ""
    if metrics is not None:
        metric_line = "insight_metrics = [" + ", ".join(f'"{m}"' for m in metrics) + "]\n"
    path.write_text(
        f"""
[office]
name = "Công an tỉnh Demo"

[channels.tinh-fb]
kind = "facebook"
name = "Công an tỉnh Demo (Facebook)"
page_id = "{PAGE_ID}"
base_url = "{sb.graph_url}"
graph_version = "{graph_version}"
token = {{ env = "LOA_TEST_FB_TOKEN" }}
timeout_seconds = {timeout}
{metric_line}{facebook_extra}

[channels.tinh-zalo]
kind = "zalo_oa"
name = "Công an tỉnh Demo (Zalo OA)"
oa_id = "{OA_ID}"
app_id = "{sb.zalo_app_id}"
base_url = "{sb.zalo_url}"
oauth_url = "{sb.zalo_oauth_url}"
app_secret = {{ env = "LOA_TEST_ZALO_SECRET" }}
refresh_token = {{ env = "LOA_TEST_ZALO_REFRESH" }}
timeout_seconds = {timeout}
broadcast = {"true" if broadcast else "false"}

[media]
directory = "{media_dir}"
public_base_url = "{media_url}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[SandboxHandle]:
    """One sandbox for the module (reset before each test by ``env``)."""
    with running_sandbox(seed=7, verify_pending_polls=1) as sb:
        yield sb


class MediaServer:
    """``loa media serve``'s app on a free loopback port, in a thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        config = uvicorn.Config(media_app(directory), host="127.0.0.1", port=0, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("media server did not start")
            time.sleep(0.005)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The media store directory and its public URL, served over HTTP for the module."""
    directory = tmp_path_factory.mktemp("media-public")
    with MediaServer(directory) as url:
        yield directory, url


def make_env(
    sb: SandboxHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    media: tuple[Path, str],
    **config_options: object,
) -> Env:
    """Config, environment and database for ``sb``."""
    monkeypatch.setenv("LOA_TEST_FB_TOKEN", sb.page_token(PAGE_ID))
    monkeypatch.setenv("LOA_TEST_ZALO_SECRET", sb.zalo_app_secret)
    monkeypatch.setenv("LOA_TEST_ZALO_REFRESH", sb.refresh_token(OA_ID))
    monkeypatch.setenv("LOA_CREDENTIAL_KEY", Fernet.generate_key().decode())
    media_dir, media_url = media
    path = write_config(
        tmp_path / "channels.toml",
        sb,
        media_url=media_url,
        media_dir=media_dir,
        **config_options,  # type: ignore[arg-type]
    )
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    return Env(sb=sb, config=load(path), engine=engine, media_dir=media_dir, media_url=media_url)


@pytest.fixture
def env(
    module_sandbox: SandboxHandle,
    media_server: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Env]:
    """A reset sandbox, a config pointing at it, a fresh SQLite database."""
    module_sandbox.reset()
    e = make_env(module_sandbox, tmp_path, monkeypatch, media_server)
    yield e
    e.engine.dispose()


def jpeg(
    width: int = 800,
    height: int = 600,
    *,
    colour: tuple[int, int, int] = (200, 30, 30),
    exif_gps: bool = False,
    noise: bool = False,
) -> bytes:
    """A JPEG test image (optionally with EXIF GPS tags, optionally incompressible)."""
    if noise:
        import os

        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), colour)
    buf = io.BytesIO()
    params: dict[str, object] = {"quality": 95}
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif.get_ifd(0x8825)[2] = (10.0, 45.0, 0.0)  # GPSLatitude
        params["exif"] = exif.tobytes()
    img.save(buf, "JPEG", **params)
    return buf.getvalue()


def utcnow() -> datetime:
    """Now, aware UTC."""
    return datetime.now(UTC)
