"""`loa render`: run() through a parser built with scheduler.cli.render.register()."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from PIL import Image

from content.errors import ValidationError
from scheduler.cli import render as render_cli


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="loa")
    render_cli.register(parser.add_subparsers())
    return parser.parse_args(["render", *argv])


def _run(*argv: str) -> int:
    args = _parse(*argv)
    return args.handler(args)


def test_list_shows_templates_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("--list") == 0
    out = capsys.readouterr().out
    for name in ("warning", "tips", "hotline", "announcement", "news-photo"):
        assert name in out
    assert "title      required, max 90 chars" in out
    assert "needs --image" in out


def test_render_writes_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "canh-bao.png"
    code = _run(
        "--template", "warning",
        "--field", "title=Cảnh giác lừa đảo qua mạng – Không chuyển tiền cho người lạ",
        "--field", "body=Không cung cấp mã OTP.\\nGọi 113 khi cần.",
        "--size", "1080x1350",
        "-o", str(out),
    )  # fmt: skip
    assert code == 0
    with Image.open(out) as im:
        assert (im.format, im.size) == ("PNG", (1080, 1350))
    assert f"wrote {out}" in capsys.readouterr().out


def test_render_for_zalo_writes_jpeg_under_limit(tmp_path: Path) -> None:
    out = tmp_path / "cover.jpg"
    code = _run(
        "-t", "hotline", "-f", "title=Đường dây nóng", "-f", "number=113",
        "--size", "1200x675", "--for", "zalo_oa", "--office", "Công an phường Cửa Nam",
        "-o", str(out),
    )  # fmt: skip
    assert code == 0
    assert out.stat().st_size <= 1_000_000
    with Image.open(out) as im:
        assert (im.format, im.size) == ("JPEG", (1200, 675))


def test_render_with_photo(tmp_path: Path) -> None:
    photo = tmp_path / "anh.jpg"
    Image.new("RGB", (900, 600), (90, 120, 160)).save(photo)
    out = tmp_path / "tin.jpg"
    assert (
        _run("-t", "news-photo", "-f", "title=Tin ảnh", "--image", str(photo), "-o", str(out)) == 0
    )
    assert Image.open(out).format == "JPEG"


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    out = str(tmp_path / "x.png")
    with pytest.raises(ValidationError, match="^--field: 'title' is not KEY=VALUE"):
        _run("-t", "warning", "-f", "title", "-o", out)
    with pytest.raises(ValidationError, match="^fields.nope: unknown field"):
        _run("-t", "warning", "-f", "title=x", "-f", "nope=y", "-o", out)
    with pytest.raises(ValidationError, match="^template: unknown template 'poster'"):
        _run("-t", "poster", "-o", out)
    with pytest.raises(ValidationError, match="choose a template"):
        _run("-o", out)
    with pytest.raises(ValidationError, match="output file"):
        _run("-t", "warning", "-f", "title=x")
    with pytest.raises(ValidationError, match="use a .png or .jpg"):
        _run("-t", "warning", "-f", "title=x", "-o", str(tmp_path / "x.gif"))
    with pytest.raises(ValidationError, match="^branding.primary"):
        _run("-t", "warning", "-f", "title=x", "--primary", "blue-ish", "-o", out)
    assert not (tmp_path / "x.png").exists()
