"""Resource IDs, name parts and resource name patterns."""

from __future__ import annotations

import re

CID_TAG = "{cid}"
#: One character of a name part: printable ASCII but ``* . > ?``.
_PART_CHAR = r"[\x21-\x29\x2b-\x2d\x2f-\x3d\x40-\x7e]"
_PART = re.compile(f"{_PART_CHAR}+")
_NAME = re.compile(f"{_PART_CHAR}+(?:\\.{_PART_CHAR}+)*")


def is_valid_part(part: str) -> bool:
    """A method, event name or RID part: non-empty printable ASCII without ``. * > ?``."""
    return _PART.fullmatch(part) is not None


def is_valid_rid(rid: str, allow_query: bool = True) -> bool:
    """Validate a RID: name parts joined by dots; nothing after the first ``?`` is checked."""
    name, query_mark, _ = rid.partition("?")
    return (allow_query or not query_mark) and _NAME.fullmatch(name) is not None


def split_rid(rid: str) -> tuple[str, str]:
    """Split a RID into resource name and query (``""`` when there is none)."""
    name, _, query = rid.partition("?")
    return name, query


def join_rid(name: str, query: str) -> str:
    return f"{name}?{query}" if query else name


def expand_cid(rid: str, cid: str) -> str:
    """Replace every ``{cid}`` tag with the connection's real id."""
    return rid.replace(CID_TAG, cid) if CID_TAG in rid else rid


class Pattern:
    """A resource name pattern: ``*`` matches one token, a final ``>`` one or more."""

    __slots__ = ("pattern", "_tokens", "_full")

    def __init__(self, pattern: str) -> None:
        if not is_valid_pattern(pattern):
            raise ValueError(f"invalid resource name pattern: {pattern!r}")
        self.pattern = pattern
        tokens = pattern.split(".")
        self._full = tokens[-1] == ">"
        self._tokens = tokens[:-1] if self._full else tokens

    def matches(self, name: str) -> bool:
        parts = name.split(".")
        n = len(self._tokens)
        if self._full:
            if len(parts) <= n:
                return False
        elif len(parts) != n:
            return False
        return all(t == "*" or t == p for t, p in zip(self._tokens, parts, strict=False))

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


def is_valid_pattern(pattern: str) -> bool:
    if not pattern:
        return False
    tokens = pattern.split(".")
    for i, token in enumerate(tokens):
        if token in ("*", ">"):
            if token == ">" and i != len(tokens) - 1:
                return False
            continue
        if not is_valid_part(token):
            return False
    return True


def compile_patterns(patterns: object) -> list[Pattern]:
    """Compile a list of patterns, silently skipping invalid ones (as gateways do)."""
    if not isinstance(patterns, list):
        return []
    return [Pattern(p) for p in patterns if isinstance(p, str) and is_valid_pattern(p)]
