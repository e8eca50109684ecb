"""Webhook delivery: real HTTP POSTs in background tasks, retried on the simulated clock.

Platform-neutral. A platform module (``graph_inbox``, ``zalo_inbox``) builds the body and the
signed headers, and gives a :class:`PlatformRules`: which statuses count as received, when the
retries are due (offsets from the first attempt, in simulated seconds), extra headers per retry,
and what the platform does when a delivery fails or is given up.

Retries are due by the sandbox clock, never by real time: a test moves the clock and calls
:meth:`WebhookDispatcher.drain` (``POST /_sandbox/webhooks/run``); a running demo clock gets
them from a one-second ticker. Every attempt is recorded on its delivery.

Deliveries to one receiver for one Page or OA go out one at a time, in the order the events
happened: Messenger promises in-order messages (docs/platforms/facebook-graph.md#message-events),
and a test sees the same order on every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.citizens import WebhookAttempt, WebhookDelivery

if TYPE_CHECKING:
    from sandbox.runtime import Sandbox

log = logging.getLogger("sandbox")

#: How often a running clock is checked for due retries (real seconds).
TICK_S = 1.0
#: How much of a receiver's answer is kept on the attempt.
RESPONSE_KEEP = 500

OK = "ok"
REFUSED = "refused"
STATUS = "status"
TIMEOUT = "timeout"
ERROR = "error"


@dataclass
class PlatformRules:
    """How one platform delivers: retry offsets, what counts as received, what failure does."""

    #: When each retry is due, in simulated seconds after the first attempt.
    retry_offsets_s: tuple[float, ...]
    #: Whether a failed attempt with this outcome is retried (else the delivery ends at once).
    retries: Callable[[WebhookDelivery, str], bool] = field(default=lambda delivery, outcome: True)
    #: Extra headers of attempt ``n`` (0 = first): Zalo's ``num_retry``.
    retry_headers: Callable[[WebhookDelivery, int], dict[str, str]] = field(
        default=lambda delivery, number: {}
    )
    #: Called after every failed attempt (the delivery may be dropped by it).
    on_failure: Callable[[WebhookDelivery], None] = field(default=lambda delivery: None)
    #: Called after a received attempt.
    on_success: Callable[[WebhookDelivery], None] = field(default=lambda delivery: None)
    #: Called when the last retry failed.
    on_give_up: Callable[[WebhookDelivery], None] = field(default=lambda delivery: None)


class WebhookDispatcher:
    """Sends deliveries, schedules their retries, and records every attempt."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.rules: dict[str, PlatformRules] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        #: Deliveries that may still be attempted, by id (None: rebuild from the state, which
        #: was replaced by a reset or loaded from a file). Keeps the ticker and every finished
        #: attempt from walking the whole delivery history.
        self._pending: dict[str, WebhookDelivery] | None = None
        #: Attempts made since the last :meth:`drain` reported them.
        self._unreported: list[WebhookAttempt] = []
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._client: httpx.AsyncClient | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Start the ticker that runs retries falling due on a running clock."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        """Stop the ticker and every attempt in flight; close the HTTP client."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        self.cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def cancel_all(self) -> None:
        """Forget the attempts in flight (``POST /reset``)."""
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()
        self._in_flight.clear()
        self._locks.clear()
        self._pending = None
        self._unreported.clear()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.run_due()
            except Exception:  # a ticker that dies would silently stop every retry
                log.exception("webhook ticker")

    def http(self) -> httpx.AsyncClient:
        """The shared HTTP client (also used for Meta's verification handshake)."""
        if self._client is None:
            # The receivers are local (or named by the caller): no proxy from the environment.
            self._client = httpx.AsyncClient(trust_env=False)
        return self._client

    # ----------------------------------------------------------------- deliveries

    def submit(
        self,
        *,
        platform: str,
        channel: str,
        url: str,
        body: str,
        headers: dict[str, str],
        events: list[str],
        timeout_s: float,
        filtered: str | None = None,
    ) -> WebhookDelivery:
        """Record a delivery and start its first attempt now (unless ``filtered`` says why the
        platform will never send it)."""
        inbox = self.sb.state.inbox
        delivery = WebhookDelivery(
            id=f"wh-{inbox.serial()}",
            platform=platform,
            channel=channel,
            url=url,
            body=body,
            headers=headers,
            events=events,
            created_at=self.sb.now(),
            timeout_s=timeout_s,
        )
        if filtered is not None:
            delivery.state = "filtered"
            delivery.note = filtered
        else:
            delivery.next_due_at = delivery.created_at
            self.pending()[delivery.id] = delivery
        inbox.deliveries.append(delivery)
        self.sb.touch()
        if filtered is None:
            self._launch(delivery)
        return delivery

    def duplicate(self, original: WebhookDelivery) -> WebhookDelivery:
        """Send a delivery's exact body and headers again, as a delivery of its own: Meta warns
        of duplicates (docs/platforms/facebook-graph.md#delivery-and-retries) and Zalo resends
        identical content (docs/platforms/zalo-oa.md#delivery-and-retries)."""
        copy = self.submit(
            platform=original.platform,
            channel=original.channel,
            url=original.url,
            body=original.body,
            headers=dict(original.headers),
            events=list(original.events),
            timeout_s=original.timeout_s,
        )
        copy.note = f"duplicate of {original.id}"
        return copy

    def drop(self, delivery: WebhookDelivery, note: str) -> None:
        """Stop a pending delivery: the platform will not send it again."""
        if delivery.state == "pending":
            delivery.state = "dropped"
            delivery.next_due_at = None
            delivery.note = note
            self.sb.touch()

    def pending(self) -> dict[str, WebhookDelivery]:
        """The deliveries still pending, by id."""
        if self._pending is None:
            self._pending = {
                d.id: d for d in self.sb.state.inbox.deliveries if d.state == "pending"
            }
        return self._pending

    def run_due(self) -> int:
        """Start every attempt due by the simulated clock; returns how many were started."""
        now = self.sb.now()
        started = 0
        pending = self.pending()
        for delivery in list(pending.values()):
            if delivery.state != "pending":
                del pending[delivery.id]
                continue
            if (
                delivery.next_due_at is not None
                and delivery.next_due_at <= now
                and delivery.id not in self._in_flight
            ):
                self._launch(delivery)
                started += 1
        return started

    async def drain(self) -> list[WebhookAttempt]:
        """Run due attempts and wait until none is in flight; the attempts made since the
        previous drain (also those a clock move or an action started on their own, so the
        answer does not depend on how fast they ran)."""
        self.run_due()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        made, self._unreported = self._unreported, []
        return sorted(made, key=lambda attempt: attempt.seq)

    def _launch(self, delivery: WebhookDelivery) -> None:
        self._in_flight.add(delivery.id)
        task = asyncio.get_running_loop().create_task(self._attempt(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        rules = self.rules[delivery.platform]
        # Acquired before any other await: asyncio locks are FIFO, so attempts for one
        # receiver and channel go out in the order they were launched.
        lock = self._locks.setdefault((delivery.url, delivery.channel), asyncio.Lock())
        try:
            async with lock:
                if delivery.state != "pending":
                    return  # dropped while waiting its turn
                await self._post(delivery, rules)
        finally:
            self._in_flight.discard(delivery.id)
            self.sb.save_if_dirty()
        # A retry already due (Meta's immediate retry, or a clock that jumped past several)
        # goes at once rather than at the next tick.
        self.run_due()

    async def _post(self, delivery: WebhookDelivery, rules: PlatformRules) -> None:
        number = len(delivery.attempts)
        scheduled = delivery.next_due_at if delivery.next_due_at is not None else self.sb.now()
        headers = {**delivery.headers, **rules.retry_headers(delivery, number)}
        at = self.sb.now()
        started = time.monotonic()
        status: int | None = None
        text = ""
        try:
            response = await self.http().post(
                delivery.url,
                content=delivery.body.encode("utf-8"),
                headers=headers,
                timeout=httpx.Timeout(delivery.timeout_s),
            )
            status = response.status_code
            text = response.text[:RESPONSE_KEEP]
            # Both platforms ask for HTTP 200 exactly
            # (docs/platforms/zalo-oa.md#delivery-and-retries,
            # docs/platforms/facebook-graph.md#delivery-and-retries).
            outcome = OK if status == 200 else STATUS
        except httpx.ConnectError as exc:
            outcome, text = REFUSED, str(exc)[:RESPONSE_KEEP]
        except httpx.TimeoutException:
            outcome, text = TIMEOUT, f"no answer within {delivery.timeout_s:g} s"
        except httpx.HTTPError as exc:
            outcome, text = ERROR, f"{type(exc).__name__}: {exc}"[:RESPONSE_KEEP]
        inbox = self.sb.state.inbox
        inbox.attempt_count += 1
        attempt = WebhookAttempt(
            seq=inbox.attempt_count,
            number=number,
            scheduled_at=scheduled,
            at=at,
            outcome=outcome,
            status=status,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            response=text,
            headers=dict(headers),
        )
        delivery.attempts.append(attempt)
        self._unreported.append(attempt)
        self.sb.touch()
        if outcome == OK:
            delivery.state = "delivered"
            delivery.next_due_at = None
            rules.on_success(delivery)
            return
        rules.on_failure(delivery)
        if delivery.state != "pending":
            return  # the failure made the platform stop (unsubscribed, disabled)
        retried = rules.retries(delivery, outcome)
        if retried and number < len(rules.retry_offsets_s):
            delivery.next_due_at = delivery.created_at + rules.retry_offsets_s[number]
            return
        delivery.state = "given_up"
        delivery.next_due_at = None
        if not retried:
            delivery.note = f"not retried after {outcome}"
            return
        delivery.note = f"gave up after {len(delivery.attempts)} attempts"
        rules.on_give_up(delivery)


def describe_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    """JSON view of a delivery for the control API (the body parsed when it is JSON)."""
    out = asdict(delivery)
    try:
        out["payload"] = json.loads(delivery.body)
    except ValueError:
        out["payload"] = None
    return out
