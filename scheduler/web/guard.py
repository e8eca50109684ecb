"""Who may talk to `loa web` at all: the Host and Origin rules, and the sign-in throttle.

Pure logic, no web framework: the server applies it to every request.

**Host and Origin.** Every HTTP and WebSocket request must name an allowed host in its
``Host`` header (this defeats DNS rebinding: a hostile page on ``evil.example`` that
resolves to this machine still says ``Host: evil.example``). A request that carries an
``Origin`` must come from an allowed host too; a WebSocket or a POST without one is refused,
because browsers always send it there and only a cross-site attacker gains by hiding it
(cross-site WebSocket hijacking, forged form posts).

**Throttle** (in memory, per server process): after :data:`FREE_FAILURES_PER_NAME` (5)
failed sign-ins for one user name, or :data:`FREE_FAILURES_PER_ADDRESS` (20) from one client
address, the next attempt for it must wait :data:`FIRST_DELAY` (30 s), and each further
failure doubles the wait up to :data:`MAX_DELAY` (15 min); until then the server answers 429
with ``Retry-After`` without checking the password. A key is forgotten after :data:`FORGET_AFTER`
(1 h) without failures; a successful sign-in clears its user name's count.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

FREE_FAILURES_PER_NAME = 5
FREE_FAILURES_PER_ADDRESS = 20
FIRST_DELAY = 30.0
MAX_DELAY = 15 * 60.0
FORGET_AFTER = 60 * 60.0
#: Keys kept at most (the oldest are dropped): a flood of made-up names cannot eat memory.
MAX_KEYS = 10_000

_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HostRule:
    """One allowed host; ``port`` None allows any port of it."""

    host: str
    port: int | None = None

    def matches(self, host: str, port: int | None) -> bool:
        """Whether ``host[:port]`` (port None: none was written) is this rule's host."""
        if host != self.host:
            return False
        if self.port is None:
            return True
        # "Host: example" without a port is the scheme's default port, 80 or 443: behind a
        # TLS proxy the browser writes no port and the proxy passes the header on.
        return port == self.port or (port is None and self.port in (80, 443))


def _split(netloc: str) -> tuple[str, int | None]:
    """``host[:port]`` (IPv6 in brackets) as a lower-case host and a port; ValueError if bad."""
    parts = urlsplit("//" + netloc.strip())
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username is not None or parts.path:
        raise ValueError(f"not a host: {netloc!r}")
    return host, parts.port  # .port raises ValueError on a bad port


def parse_host_rule(raw: str) -> HostRule:
    """An ``--allowed-host`` value: ``name`` (any port) or ``name:port``."""
    host, port = _split(raw)
    return HostRule(host, port)


def allowed_hosts(
    listen_host: str, listen_port: int, public_url: str | None, extra: Iterable[str] = ()
) -> list[HostRule]:
    """The hosts browsers may use: the listening address, the public URL's, ``extra``.

    On a loopback address the other loopback names (localhost, 127.0.0.1, ::1) on the same
    port are allowed too: they all reach the same socket and only local users can use them.
    """
    rules = [HostRule(listen_host.strip("[]").lower(), listen_port)]
    if is_loopback(listen_host):
        rules += [HostRule(name, listen_port) for name in _LOOPBACK_NAMES]
    if public_url:
        parts = urlsplit(public_url)
        if parts.hostname:
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
            rules.append(HostRule(parts.hostname.lower(), port))
    rules += [parse_host_rule(raw) for raw in extra]
    return list(dict.fromkeys(rules))


def host_allowed(header: str | None, rules: Iterable[HostRule]) -> bool:
    """Whether a ``Host`` header names an allowed host."""
    if not header:
        return False
    try:
        host, port = _split(header)
    except ValueError:
        return False
    return any(rule.matches(host.lower(), port) for rule in rules)


def origin_allowed(origin: str | None, rules: Iterable[HostRule]) -> bool:
    """Whether an ``Origin`` header is one of the allowed hosts (``null`` and none are not)."""
    if not origin or origin == "null":
        return False
    try:
        parts = urlsplit(origin)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host:
        return False
    port = port or _DEFAULT_PORTS[parts.scheme]
    return any(rule.matches(host, port) for rule in rules)


@dataclass
class _Record:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0


class Throttle:
    """Failed sign-ins counted per user name and per client address (see the module doc).

    ``clock`` is a monotonic clock in seconds (injected by the tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._records: OrderedDict[tuple[str, str], _Record] = OrderedDict()

    def wait(self, name: str, address: str | None) -> int:
        """Seconds before another attempt for ``name`` from ``address`` is checked (0: now)."""
        now = self.clock()
        waits = [
            record.blocked_until - now
            for key in self._keys(name, address)
            if (record := self._current(key, now)) is not None
        ]
        return max(0, math.ceil(max(waits, default=0.0)))

    def failed(self, name: str, address: str | None) -> None:
        """Count a failed sign-in; past the free failures, block the key for a growing delay."""
        now = self.clock()
        for key in self._keys(name, address):
            record = self._current(key, now) or _Record()
            record.failures += 1
            record.last_failure = now
            free = FREE_FAILURES_PER_NAME if key[0] == "name" else FREE_FAILURES_PER_ADDRESS
            over = record.failures - free + 1
            if over > 0:
                record.blocked_until = now + min(MAX_DELAY, FIRST_DELAY * 2 ** (over - 1))
            self._records[key] = record
            self._records.move_to_end(key)
        while len(self._records) > MAX_KEYS:
            self._records.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """A right password: the name starts afresh (its address keeps its count)."""
        self._records.pop(("name", name), None)

    def _keys(self, name: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("name", name)]
        if address:
            keys.append(("address", address))
        return keys

    def _current(self, key: tuple[str, str], now: float) -> _Record | None:
        record = self._records.get(key)
        if record is not None and now - record.last_failure > FORGET_AFTER:
            del self._records[key]
            return None
        return record
