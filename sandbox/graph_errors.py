"""Graph API errors with the real envelope, codes, subcodes and HTTP statuses."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

# Codes whose errors Graph marks transient (retry with backoff).
TRANSIENT_CODES = {1, 2, 4, 17, 32, 341, 613} | set(range(80000, 80015))

_trace_counter = itertools.count(1)

AUTH_SUBCODES = {
    "expired": 463,
    "password_changed": 460,
    "app_removed": 458,
    "logged_out": 467,
    "invalid": None,
}


def fbtrace_id() -> str:
    """An opaque trace id shaped like Graph's (base64-ish, 27 chars)."""
    raw = hashlib.sha256(str(next(_trace_counter)).encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return "A" + "".join(alphabet[b % 64] for b in raw[:26])


class GraphError(Exception):
    """An error answer: raise it anywhere in request handling."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        type_: str = "OAuthException",
        user_title: str | None = None,
        user_msg: str | None = None,
        transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.type_ = type_
        self.user_title = user_title
        self.user_msg = user_msg
        self.transient = transient
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON envelope Graph sends."""
        error: dict[str, Any] = {"message": self.message, "type": self.type_, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        transient = self.transient
        if transient is None:
            transient = self.code in TRANSIENT_CODES or (self.code, self.subcode) == (368, 1390008)
        error["is_transient"] = transient
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


def invalid_parameter(message: str, *, subcode: int | None = None) -> GraphError:
    """Code 100: a parameter is missing or wrong (``message`` without the ``(#100)`` prefix)."""
    return GraphError(100, f"(#100) {message}", subcode=subcode)


def object_not_found(method: str, object_id: str) -> GraphError:
    """Code 100/33: unknown object or no permission on it."""
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        type_="GraphMethodException",
    )


def nonexisting_field(name: str, node_type: str) -> GraphError:
    """Code 100: a field or edge the node does not have."""
    return invalid_parameter(
        f"Tried accessing nonexisting field ({name}) on node type ({node_type})"
    )


def token_error(kind: str, *, now_text: str = "", app_id: str = "") -> GraphError:
    """Code 190 for a dead token; ``kind`` is one of :data:`AUTH_SUBCODES`."""
    messages = {
        "expired": "Error validating access token: Session has expired on "
        f"{now_text}. The current time is {now_text}.",
        "password_changed": "Error validating access token: The session has been invalidated "
        "because the user changed their password or Facebook has changed the session for "
        "security reasons.",
        "app_removed": f"Error validating access token: The user has not authorized application "
        f"{app_id}.",
        "logged_out": "Error validating access token: The session is invalid because the user "
        "logged out.",
        "invalid": "Invalid OAuth access token - Cannot parse access token",
    }
    return GraphError(
        190,
        messages[kind],
        subcode=AUTH_SUBCODES[kind],
        headers={"WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{kind}"'},
    )


def missing_token() -> GraphError:
    """No token at all.  Graph uses code 104 for this (not in Meta's pages; from memory)."""
    return GraphError(104, "An access token is required to request this resource.")


def throttled(code: int, headers: dict[str, str]) -> GraphError:
    """A rate-limit error; HTTP 403 for the platform codes, 400 for Pages BUC (80001)."""
    messages = {
        4: "(#4) Application request limit reached",
        17: "(#17) User request limit reached",
        32: "(#32) Page request limit reached",
        613: "(#613) Calls to this api have exceeded the rate limit.",
        80001: "(#80001) There have been too many calls to this Page account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    }
    status = 400 if code >= 80000 else 403
    message = messages.get(code, f"(#{code}) Request limit reached")
    return GraphError(code, message, status=status, transient=True, headers=headers)


def server_error(code: int) -> GraphError:
    """Code 1 or 2 with HTTP 500, as Graph answers during incidents."""
    if code == 1:
        return GraphError(1, "An unknown error occurred", status=500, transient=True)
    return GraphError(
        2,
        "An unexpected error has occurred. Please retry your request later.",
        status=500,
        transient=True,
    )


def content_rejected(code: int) -> GraphError:
    """A content verdict: 368/1346003 (abusive) or 506 (duplicate)."""
    if code == 506:
        return duplicate_status()
    return GraphError(
        368,
        "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
        subcode=1346003,
        user_title="Content blocked",
        user_msg="This content goes against our Community Standards.",
        transient=False,
    )


def duplicate_status() -> GraphError:
    """Code 506: the same message posted twice in a row on a Page."""
    return GraphError(506, "(#506) Duplicate status message", transient=False)


def posting_as_user() -> GraphError:
    """Code 200: a user token used where the Page itself must act."""
    return GraphError(
        200, "(#200) Unpublished posts must be posted to a page as the page itself.", status=403
    )


def permission_error() -> GraphError:
    """Code 200: the token may not act on this object."""
    return GraphError(200, "(#200) Permissions error", status=403)
