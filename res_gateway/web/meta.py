"""Meta from service responses (``status`` and ``header``) as resgate applies it to HTTP responses.

Meta of the header auth, access and call responses is merged in that order: later values replace
earlier ones, except ``Set-Cookie`` values, which accumulate. A status of 300-599 is answered at
once; any other status is logged and ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

Header = dict[str, list[str]]

#: Headers a service can never set through meta.
PROTECTED_HEADERS = frozenset(
    {
        "Sec-Websocket-Extensions",
        "Sec-Websocket-Protocol",
        "Access-Control-Allow-Credentials",
        "Access-Control-Allow-Origin",
        "Content-Type",
    }
)

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def canonical_key(key: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey`` (``content-type`` is ``Content-Type``); invalid keys stay."""
    if not key or not all(c in _TOKEN_CHARS for c in key):
        return key
    return "-".join(part[:1].upper() + part[1:].lower() for part in key.split("-"))


def merge_header(target: Header, source: Header) -> None:
    """Merge ``source`` into ``target``: protected headers are skipped and ``Set-Cookie`` values appended."""
    for key, values in source.items():
        if key in PROTECTED_HEADERS:
            continue
        if key == "Set-Cookie":
            target[key] = [*target.get(key, ()), *values]
        else:
            target[key] = list(values)


@dataclass
class Meta:
    status: int | None = None
    header: Header = field(default_factory=dict)

    @classmethod
    def parse(cls, meta: Any) -> Meta:
        """Read a response's ``meta`` object, canonicalizing header keys; anything malformed is dropped."""
        if not isinstance(meta, dict):
            return cls()
        status = meta.get("status")
        if isinstance(status, bool) or not isinstance(status, int):
            status = None
        header: Header = {}
        raw = meta.get("header")
        if isinstance(raw, dict):
            for key, values in raw.items():
                if isinstance(values, list) and all(isinstance(v, str) for v in values):
                    header.setdefault(canonical_key(key), []).extend(values)
        return cls(status, header)

    def merge(self, other: Meta) -> Meta:
        """A new meta: ``other``'s status and headers over this one's."""
        header = {key: list(values) for key, values in self.header.items()}
        merge_header(header, other.header)
        return Meta(other.status if other.status is not None else self.status, header)

    @property
    def is_direct(self) -> bool:
        """Whether the status asks for an immediate response (3xx, 4xx, 5xx)."""
        return self.status is not None and 300 <= self.status < 600

    def validated(self) -> Meta:
        """This meta without a status that is not 3xx-5xx (logged, as resgate does)."""
        if self.status is None or self.is_direct:
            return self
        logger.error("Invalid meta status: %d", self.status)
        return Meta(None, self.header)
