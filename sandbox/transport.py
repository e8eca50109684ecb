"""Transport-level misbehaviour shared by both stand-ins: hanging and dropping connections."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class DropConnection(Response):
    """Start an answer, then drop the socket: the client sees the peer close mid-body."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})
        # Returning without finishing the body makes uvicorn close the transport.


async def hold_until_client_leaves(request: Request, seconds: float) -> None:
    """Hang like a stuck backend; stop early when the client gives up (its read timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.02)
