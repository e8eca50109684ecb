"""The shared httpx client factory and the secrets hygiene every channel relies on.

Tokens must never reach a log line, an exception message or a ``repr``. Three layers keep
it that way:

* clients send tokens in headers (Graph: ``Authorization: Bearer``; Zalo: ``access_token``),
  never in URLs, and :func:`safe_url` masks secret query parameters anyway;
* the request/response event hooks log only method, path, status and latency;
* every log record is scrubbed when it is created: each registered secret value (see
  :func:`register_secret`; clients register tokens as soon as they read them) is replaced
  by ``***`` in the message and the exception text, whatever the logger; :func:`redact` does
  the same for the text of Loa's own exceptions.
"""

from __future__ import annotations

import functools
import logging
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

log = logging.getLogger("loa.channels.http")

#: Query/form parameter names whose values are secrets wherever they appear.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "input_token",
        "client_secret",
        "fb_exchange_token",
        "appsecret_proof",
        "code",
        "code_verifier",
        "secret_key",
    }
)
MASK = "***"
#: Secrets shorter than this are not registered: masking "1" everywhere would garble logs,
#: and real tokens are long.
_MIN_SECRET_LENGTH = 8
#: Seconds allowed to open a connection; the read timeout comes from the channel's config.
CONNECT_TIMEOUT = 10.0


class SecretRedactor:
    """Replaces registered secret values in log records (message, args and exception text)."""

    def __init__(self) -> None:
        # Copy-on-write tuple, longest first (a secret containing another is masked whole):
        # readers on other threads never see it change under them.
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        """Remember ``value`` as a secret to mask."""
        if value and len(value) >= _MIN_SECRET_LENGTH and value not in self._secrets:
            with self._lock:
                known = {*self._secrets, value}
                self._secrets = tuple(sorted(known, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def clean(self, record: logging.LogRecord) -> None:
        """Rewrite ``record`` in place."""
        if not self._secrets:
            return
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's business, not ours
            return
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))


_REDACTOR = SecretRedactor()


def _install_record_factory() -> None:
    """Scrub every log record when it is created, whichever logger or handler it meets.

    A logger filter would only see records logged on that very logger (not its children),
    and handlers belong to the application: the record factory is the one place every record
    passes through.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "loa_scrubs", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _REDACTOR.clean(record)
        return record

    factory.loa_scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_record_factory()


def get_logger(name: str) -> logging.Logger:
    """A logger under ``loa.`` (records are scrubbed of registered secrets)."""
    return logging.getLogger(name if name.startswith("loa.") else f"loa.{name}")


def register_secret(*values: str | None) -> None:
    """Mask these values in every log record from now on (call when a token is read)."""
    for value in values:
        if value:
            _REDACTOR.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret masked (for exception messages from platforms)."""
    return _REDACTOR.scrub(text)


def safe_url(url: httpx.URL | str) -> str:
    """The URL with secret query parameters masked (for logs and error messages)."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    query = [
        (k, MASK if k.lower() in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="(),{}")))


def strip_params(url: str, names: Iterable[str] = SECRET_PARAMS) -> str:
    """The URL without the given query parameters (e.g. a ``paging.next`` carrying a token)."""
    parts = urlsplit(url)
    drop = {n.lower() for n in names}
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in drop
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="(),{}")))


#: Seconds an idle pooled connection is kept. Below the shortest idle timeout servers
#: commonly use (5 s: uvicorn's, Apache's): at httpx's default of 5 s a burst after a quiet
#: moment reused connections the server was closing at that instant, and each such publish
#: failed with a ReadError whose outcome is unknown - looked up and sent again only after
#: the retry delay (bench/scale.py: 7 of 3,000 deliveries 30 s late, one run in three).
KEEPALIVE_EXPIRY = 4.0


async def _on_request(request: httpx.Request) -> None:
    request.extensions["loa_started"] = time.perf_counter()


def _hooks(channel: str) -> dict[str, list[Any]]:
    async def on_response(response: httpx.Response) -> None:
        request = response.request
        started = request.extensions.get("loa_started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        # The path only: query strings can carry secrets on some APIs.
        log.debug(
            "%s %s %s -> %d (%.0f ms)",
            channel,
            request.method,
            request.url.path,
            response.status_code,
            elapsed_ms,
        )

    return {"request": [_on_request], "response": [on_response]}


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every channel: each costs ~1 MB and ~20 ms to load the CA bundle,
    which adds up with fifty channels in one daemon."""
    return httpx.create_ssl_context()


def make_client(
    *,
    channel: str,
    base_url: str,
    timeout_seconds: float,
    max_connections: int = 4,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """One AsyncClient per channel: base URL, connect+read timeouts, pooled connections.

    ``transport`` lets tests route requests elsewhere; by default httpx's pooled transport
    is used (keep-alive connections are reused across calls).
    """
    timeout = httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT, timeout_seconds))
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        timeout=timeout,
        limits=limits,
        transport=transport,
        verify=shared_ssl_context(),
        headers={"User-Agent": "loa-scheduler", **(headers or {})},
        event_hooks=_hooks(channel),
        follow_redirects=False,
    )


def was_sent(exc: httpx.TransportError) -> bool:
    """Whether the request may have reached the server before ``exc`` happened.

    A connect failure or connect timeout means nothing was sent; a read/write timeout or a
    dropped connection mid-answer means the server may have acted on it.
    """
    return not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
