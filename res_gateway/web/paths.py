"""URL paths to RIDs and back, exactly as resgate maps them.

A path below the API prefix names a resource with ``/`` where the RID has ``.``; each segment is
percent-decoded and the raw query string is kept unchanged (``/api/test/model?q=1`` is
``test.model?q=1``). A literal ``.`` in the path, an empty segment or a bad escape names nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from res_protocol import is_valid_part, is_valid_rid

#: Characters Go's ``url.PathEscape`` leaves alone besides letters, digits and ``-_.~``.
_SEGMENT_SAFE = "$&+:=@"
#: Characters Go leaves alone when escaping a whole path.
_PATH_SAFE = "$&+,/:;=@"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _unescape(text: str) -> str | None:
    """Percent-decode like Go's ``url.PathUnescape``; ``None`` on a malformed escape."""
    if _BAD_ESCAPE.search(text):
        return None
    return unquote(text, errors="surrogateescape")


def request_path(raw_path: str) -> str | None:
    """The path resgate reads: the raw path when its escaping is not the default one, else the decoded path.

    This is Go's ``URL.RawPath`` falling back to ``URL.Path``; ``None`` when the escapes are malformed.
    """
    decoded = _unescape(raw_path)
    if decoded is None:
        return None
    if quote(decoded, safe=_PATH_SAFE, errors="surrogateescape") == raw_path:
        return decoded
    return raw_path


def _segments(path: str, prefix: str) -> list[str] | None:
    if len(path) == len(prefix) or not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    if "." in rest:
        return None
    parts = []
    for raw in rest.removeprefix("/").split("/"):
        part = _unescape(raw)
        if part is None:
            return None
        parts.append(part)
    return parts


def _with_query(name: str, query: str) -> str:
    return f"{name}?{query}" if query else name


def path_to_rid(path: str, query: str, prefix: str) -> str | None:
    """The RID a GET path names, or ``None`` when it names no valid RID."""
    parts = _segments(path, prefix)
    if parts is None:
        return None
    rid = _with_query(".".join(parts), query)
    return rid if is_valid_rid(rid) else None


def path_to_rid_method(path: str, query: str, prefix: str) -> tuple[str, str] | None:
    """The RID and method a POST path names (``/api/<rid path>/<method>``), or ``None``."""
    parts = _segments(path, prefix)
    if parts is None or len(parts) < 2:
        return None
    rid = _with_query(".".join(parts[:-1]), query)
    method = parts[-1]
    return (rid, method) if is_valid_rid(rid) and is_valid_part(method) else None


def rid_to_path(rid: str, prefix: str) -> str:
    """The URL path of a RID (``test.model?q=a`` is ``/api/test/model%3Fq=a``); ``""`` for no RID."""
    if not rid:
        return ""
    return prefix + quote(rid, safe=_SEGMENT_SAFE, errors="surrogateescape").replace(".", "/")
