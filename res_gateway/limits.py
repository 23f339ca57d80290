"""What one client may ask of the gateway at once, so that it cannot slow down the others.

Ours, beyond resgate (which has none of these): a WebSocket connection has at most
``maxRequestsInFlight`` requests being handled at a time and opens at most ``maxSubscribeRate`` new
subscriptions a second (bursts of as many); a request beyond either is answered at once with an error and
counted in the metrics. Request params nested deeper than ``res_protocol.codec.MAX_DEPTH`` are refused
where they arrive, before anything encodes them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from res_protocol import ResError, check_depth, errors

from .conf import gateway_settings
from .metrics import metrics


class ConnectionLimits:
    """One connection's requests in flight and its budget of new subscriptions (a token bucket)."""

    __slots__ = ("_refilled", "_tokens", "in_flight", "max_in_flight", "subscribe_rate")

    def __init__(self, max_in_flight: int, subscribe_rate: int) -> None:
        self.max_in_flight = max_in_flight
        self.subscribe_rate = subscribe_rate
        self.in_flight = 0
        self._tokens = float(subscribe_rate)
        self._refilled = time.monotonic()

    @classmethod
    def from_settings(cls) -> ConnectionLimits:
        return cls(gateway_settings.max_requests_in_flight, gateway_settings.max_subscribe_rate)

    @contextmanager
    def request(self) -> Iterator[None]:
        """Hold a place among the requests in flight (:meth:`enter`, then :meth:`leave`)."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def enter(self) -> None:
        """Take a place among the requests in flight; refuses with ``system.requestLimitExceeded``."""
        if self.max_in_flight and self.in_flight >= self.max_in_flight:
            metrics.refuse("maxRequestsInFlight")
            raise errors.REQUEST_LIMIT_EXCEEDED(
                f"Too many requests in flight: at most {self.max_in_flight} per connection"
            )
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1

    def new_subscription(self) -> None:
        """Take one new subscription from the budget; refuses with ``system.subscriptionLimitExceeded``."""
        if not self.subscribe_rate:
            return
        now = time.monotonic()
        rate = self.subscribe_rate
        self._tokens = min(float(rate), self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens < 1:
            metrics.refuse("maxSubscribeRate")
            raise errors.SUBSCRIPTION_LIMIT_EXCEEDED(
                f"Too many new subscriptions: at most {rate} a second per connection"
            )
        self._tokens -= 1


def check_params(params: Any) -> None:
    """Refuse params nested too deep (``system.invalidParams``) before anything encodes them."""
    try:
        check_depth(params)
    except ResError:
        metrics.refuse("maxDepth")
        raise


__all__ = ["ConnectionLimits", "check_params"]
