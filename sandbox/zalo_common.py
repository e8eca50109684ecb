"""What the Zalo OpenAPI and OAuth stand-ins share: errors, JSON answers, ids, office time."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class ZaloError(Exception):
    """An OpenAPI error: ``{"error": <negative>, "message": ...}``, normally with HTTP 200."""

    def __init__(self, code: int, message: str, *, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        """Zalo's failure envelope (no ``data``)."""
        return {"error": self.code, "message": self.message}


def zalo_json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON with Vietnamese kept readable, as Zalo sends it."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(
        text, status_code=status, headers=headers, media_type="application/json;charset=utf-8"
    )


def success(data: Any = None) -> dict[str, Any]:
    """``{"data": ..., "error": 0, "message": "Success"}``."""
    body: dict[str, Any] = {"error": 0, "message": "Success"}
    if data is not None:
        body = {"data": data, **body}
    return body


def opaque_id(seed: int | str, *parts: Any, length: int = 32) -> str:
    """A stable hex id from the seed and some parts."""
    text = ":".join(str(p) for p in (seed, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def office_time(epoch: float) -> datetime:
    """The instant in Vietnam (Zalo's rules are local: night ban, daily and monthly caps)."""
    return datetime.fromtimestamp(epoch, OFFICE_TZ)


def epoch_ms(epoch: float) -> int:
    """Zalo's timestamps: milliseconds since the epoch."""
    return int(epoch * 1000)
