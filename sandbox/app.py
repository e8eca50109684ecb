"""One ASGI app with every stand-in mounted under its prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from sandbox.config import SandboxConfig
from sandbox.control import control_app
from sandbox.graph_http import graph_app
from sandbox.graph_webhook import graph_rules
from sandbox.runtime import Sandbox
from sandbox.zalo import zalo_openapi_app
from sandbox.zalo_oauth import zalo_oauth_app
from sandbox.zalo_webhook import zalo_rules

GRAPH_PREFIX = "/graph"
ZALO_PREFIX = "/zalo"
ZALO_OAUTH_PREFIX = "/zalo-oauth"
CONTROL_PREFIX = "/_sandbox"
MEDIA_PREFIX = "/media"


def build_app(config: SandboxConfig | None = None) -> tuple[Starlette, Sandbox]:
    """The sandbox app and its live state (tests may inspect ``Sandbox`` directly)."""
    sandbox = Sandbox(config or SandboxConfig())
    # Each platform's webhook rules live in its own module; the dispatcher is neutral.
    sandbox.webhooks.rules = {"graph": graph_rules(sandbox), "zalo": zalo_rules(sandbox)}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sandbox.webhooks.start()
        yield
        await sandbox.webhooks.stop()
        sandbox.touch()
        sandbox.save_if_dirty()

    routes = [
        Mount(GRAPH_PREFIX, app=graph_app(sandbox)),
        Mount(ZALO_OAUTH_PREFIX, app=zalo_oauth_app(sandbox)),
        Mount(ZALO_PREFIX, app=zalo_openapi_app(sandbox)),
        Mount(CONTROL_PREFIX, app=control_app(sandbox)),
    ]
    media_dir = sandbox.config.media_dir
    if media_dir:
        # Loa's public media store in the demo: Zalo fetches covers from here.  The directory may
        # appear after start-up (Loa creates it on first publish), hence check_dir=False.
        routes.append(Mount(MEDIA_PREFIX, app=StaticFiles(directory=media_dir, check_dir=False)))
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return app, sandbox
