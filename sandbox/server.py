"""Serve the sandbox with uvicorn on one port (used by ``loa sandbox`` and the test helper)."""

from __future__ import annotations

import socket

import uvicorn

from sandbox.app import CONTROL_PREFIX, GRAPH_PREFIX, ZALO_OAUTH_PREFIX, ZALO_PREFIX, build_app
from sandbox.config import SandboxConfig


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 = any free port); raises OSError when taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def base_urls(url: str) -> dict[str, str]:
    """Each API's base URL under the sandbox root URL."""
    return {
        "graph": url + GRAPH_PREFIX,
        "zalo": url + ZALO_PREFIX,
        "zalo_oauth": url + ZALO_OAUTH_PREFIX,
        "control": url + CONTROL_PREFIX,
    }


def make_server(config: SandboxConfig, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for the sandbox app (not started)."""
    app, _ = build_app(config)
    uv_config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        # A request held by a "timeout" fault must not keep shutdown waiting.
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(uv_config)


def serve(config: SandboxConfig, sock: socket.socket, *, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C): the state is saved on the way out."""
    server = make_server(config, log_level=log_level)
    server.run(sockets=[sock])
