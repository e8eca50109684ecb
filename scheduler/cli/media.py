"""`loa media`: the public media store Zalo fetches images from.

``loa media serve`` publishes the store's directory over HTTP for offices without a web
server; ``loa media put FILE`` stores an image (re-encoded, EXIF stripped) and prints its URL.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from content.errors import LoaError
from content.i18n import _
from content.messages import os_reason
from scheduler.cli.common import Context, subcommand_parent

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8766


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``media`` commands."""
    media = subparsers.add_parser("media", help="the public media store (Zalo image URLs)")
    sub = media.add_subparsers(title="media commands", metavar="COMMAND", required=True)
    serve = sub.add_parser(
        "serve", parents=[subcommand_parent()], help="serve the media directory over HTTP"
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    serve.add_argument("--dir", help="directory to serve (default: [media] directory)")
    serve.set_defaults(handler=run)
    put = sub.add_parser(
        "put", parents=[subcommand_parent()], help="store an image and print its public URL"
    )
    put.add_argument("file", help="JPEG/PNG/... image file")
    put.set_defaults(handler=run_put)


def run(args: argparse.Namespace) -> int:
    """Serve the directory until interrupted."""
    import uvicorn

    from scheduler.channels.media_serve import media_app

    if not 1 <= args.port <= 65535:
        raise LoaError("port_range", field="--port", port=args.port, low=1)
    directory = _directory(args)
    url = f"http://{args.host}:{args.port}/"
    print(
        _("serving {folder} at {url} (Ctrl+C to stop)").format(folder=directory, url=url),
        flush=True,
    )
    try:
        uvicorn.run(media_app(directory), host=args.host, port=args.port, log_level="warning")
    except OSError as exc:
        raise LoaError(
            "cannot_listen", host=args.host, port=args.port, reason=os_reason(exc)
        ) from None
    return 0


def run_put(args: argparse.Namespace) -> int:
    """Store one image the way the Zalo client does, and print its URL."""
    from scheduler.channels.media_store import MediaStore

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaError("file_unreadable", path=str(path), reason=os_reason(exc)) from None
    media = Context(args).config.media
    if media is None:
        raise LoaError("no_media_table")
    stored = MediaStore.from_config(media).publish(data, "zalo_oa")
    print(stored.url)
    return 0


def _directory(args: argparse.Namespace) -> Path:
    if args.dir:
        directory = Path(args.dir).expanduser()
        if not directory.is_dir():
            raise LoaError("no_directory", field="--dir", path=str(directory))
        return directory.resolve()
    media = Context(args).config.media
    if media is None:
        raise LoaError("no_media_table_dir")
    try:
        media.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LoaError(
            "media_dir_unusable", path=str(media.directory), reason=os_reason(exc)
        ) from None
    return media.directory
