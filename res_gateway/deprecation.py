"""Deprecation warnings about services, logged once per service and kind of use."""

from __future__ import annotations

import logging

logger = logging.getLogger("res_gateway")

_warned: set[tuple[str, str]] = set()


def warn_once(rid: str, what: str) -> None:
    """Log that the service owning ``rid`` uses something deprecated (``what``), the first time only."""
    service = rid.split(".", 1)[0]
    if (service, what) not in _warned:
        _warned.add((service, what))
        logger.warning("deprecated %s used by service %r", what, service)
