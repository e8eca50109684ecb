"""The public media store and `loa media`."""

from __future__ import annotations

import argparse
import hashlib
import io

import httpx
import pytest
from PIL import Image

from content.errors import LoaError, ValidationError
from scheduler.channels.media_store import MediaStore
from scheduler.cli import media as media_cli
from scheduler.cli.common import CommandParser
from tests.channels.conftest import MediaServer, jpeg


def test_files_are_content_addressed_and_stripped(tmp_path):
    store = MediaStore(tmp_path / "public", "https://media.example.vn/loa/")
    raw = jpeg(exif_gps=True)
    first = store.publish(raw)
    again = store.publish(raw)
    assert first == again
    data = first.path.read_bytes()
    assert first.name == hashlib.sha256(data).hexdigest() + ".jpg"
    assert first.url == f"https://media.example.vn/loa/{first.name}"
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif()
    other = store.publish(jpeg(colour=(0, 0, 255)))
    assert other.name != first.name
    # Written atomically: no temporaries left, files readable by the web server.
    assert sorted(p.name for p in store.directory.iterdir()) == sorted([first.name, other.name])
    assert first.path.stat().st_mode & 0o044 == 0o044


def test_oversized_image_is_reencoded_under_1_mb(tmp_path):
    store = MediaStore(tmp_path, "http://127.0.0.1:8766")
    big = jpeg(3000, 2000, noise=True)
    assert len(big) > 2_000_000
    stored = store.publish(big, "zalo_oa")
    assert stored.size_bytes <= 1_000_000
    assert stored.path.stat().st_size == stored.size_bytes


def test_not_an_image_is_a_validation_error(tmp_path):
    with pytest.raises(ValidationError):
        MediaStore(tmp_path, "http://x.vn").publish(b"%PDF-1.7 not an image")


def test_unwritable_directory_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LoaError, match="media store"):
        MediaStore(blocker / "sub", "http://x.vn").publish(jpeg())


def test_media_server_serves_files_but_not_temporaries(tmp_path):
    store = MediaStore(tmp_path, "http://unused")
    stored = store.publish(jpeg())
    (tmp_path / ".incoming-x.tmp").write_bytes(b"half")
    with MediaServer(tmp_path) as url:
        ok = httpx.get(f"{url}/{stored.name}")
        assert ok.status_code == 200 and ok.content == stored.path.read_bytes()
        assert ok.headers["content-type"] == "image/jpeg"
        assert httpx.get(f"{url}/.incoming-x.tmp").status_code == 404
        assert httpx.get(f"{url}/").status_code == 404  # no listing
        assert httpx.get(f"{url}/_health").text == "ok"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = CommandParser(prog="loa")
    media_cli.register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_serve_refuses_a_missing_directory(tmp_path):
    args = parse(["media", "serve", "--dir", str(tmp_path / "nope")])
    with pytest.raises(LoaError, match="no such directory"):
        args.handler(args)


def test_cli_serve_refuses_a_bad_port(tmp_path):
    args = parse(["media", "serve", "--dir", str(tmp_path), "--port", "70000"])
    with pytest.raises(LoaError, match="--port: 70000"):
        args.handler(args)


def test_cli_serve_needs_media_config_without_dir(tmp_path, monkeypatch):
    config = tmp_path / "channels.toml"
    config.write_text(
        '[office]\nname = "X"\n[channels.a]\nkind = "facebook"\nname = "A"\n'
        'page_id = "1"\ntoken = { env = "T" }\n',
        encoding="utf-8",
    )
    args = parse(["media", "serve", "--config", str(config)])
    with pytest.raises(LoaError, match=r"no \[media\] table"):
        args.handler(args)


def test_cli_put_prints_the_public_url(tmp_path, capsys):
    config = tmp_path / "channels.toml"
    config.write_text(
        '[office]\nname = "X"\n[channels.a]\nkind = "facebook"\nname = "A"\n'
        'page_id = "1"\ntoken = { env = "T" }\n'
        '[media]\ndirectory = "pub"\npublic_base_url = "https://media.example.vn"\n',
        encoding="utf-8",
    )
    image = tmp_path / "anh.jpg"
    image.write_bytes(jpeg())
    args = parse(["media", "put", str(image), "--config", str(config)])
    assert args.handler(args) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://media.example.vn/") and url.endswith(".jpg")
    assert (tmp_path / "pub" / url.rsplit("/", 1)[1]).is_file()
