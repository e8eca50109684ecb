"""A client that goes away before its request body arrived: one log line, not a traceback.

It happens whenever a daemon is stopped or killed mid-request (the chaos benchmark does it
on purpose). Nothing was done for such a request, so there is nothing else to say.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

log = logging.getLogger("sandbox")

#: Status nginx uses for "client closed request"; nobody is left to read it.
CLIENT_CLOSED = 499


async def client_gone(request: Request, exc: Exception) -> Response:
    """Note the request that was dropped by its client; no state was changed for it."""
    log.info(
        "%s %s: the client went away before sending its body", request.method, request.url.path
    )
    return Response(status_code=CLIENT_CLOSED)


#: For every stand-in's ``Starlette(exception_handlers=...)``.
HANDLERS = {ClientDisconnect: client_gone}
