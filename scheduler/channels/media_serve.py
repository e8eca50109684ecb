"""A small static server for the media store, for offices without a web server.

Serves the store's directory read-only: files by name, no directory listing, no dot files
(the store's half-written ``.incoming-*`` temporaries stay invisible).
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles


async def _health(_request: Request) -> Response:
    return PlainTextResponse("ok")


class _StoreFiles(StaticFiles):
    """StaticFiles that refuses dot files (temporaries being written)."""

    async def get_response(self, path: str, scope: dict) -> Response:  # type: ignore[override]
        if any(part.startswith(".") for part in Path(path).parts):
            return PlainTextResponse("Not Found", status_code=404)
        return await super().get_response(path, scope)


def media_app(directory: Path) -> Starlette:
    """The ASGI app serving ``directory`` at ``/`` (and ``/_health``)."""
    return Starlette(
        routes=[
            Route("/_health", _health),
            Mount("/", app=_StoreFiles(directory=str(directory), html=False, check_dir=True)),
        ]
    )
