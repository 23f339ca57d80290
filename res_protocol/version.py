"""RES protocol versions: the one spoken here, the ones client behaviour changes at, and their parsing.

A version is an integer, ``major * 1_000_000 + minor * 1000 + patch``, so versions compare as numbers.
"""

from __future__ import annotations

import re
from typing import Any

from . import errors

#: The protocol version this gateway speaks.
PROTOCOL_VERSION = "1.2.3"

_PART = re.compile(r"[+-]?[0-9]+")


def parse_version(protocol: Any) -> int:
    """``"1.2.3"`` as 1002003; raises invalidParams or unsupportedProtocol, as resgate does.

    Each part is a decimal integer below 1000, optionally signed (as Go's ``strconv.Atoi`` reads it).
    """
    parts = protocol.split(".") if isinstance(protocol, str) else []
    if len(parts) != 3 or not all(_PART.fullmatch(p) and int(p) < 1000 for p in parts):
        raise errors.INVALID_PARAMS()
    version = int(parts[0]) * 1_000_000 + int(parts[1]) * 1000 + int(parts[2])
    if not 1_000_000 <= version < 2_000_000:
        raise errors.UNSUPPORTED_PROTOCOL()
    return version


LATEST = parse_version(PROTOCOL_VERSION)
#: Clients that sent no version request speak 1.1.1.
LEGACY = parse_version("1.1.1")
#: From 1.2.0, call and auth results come wrapped as ``{"payload"}``, and resource responses subscribe.
V120 = parse_version("1.2.0")
#: From 1.2.1, soft references and data values reach the client as they are.
MODERN = parse_version("1.2.1")
