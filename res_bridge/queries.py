"""Query collections: filters, ordering, offset and limit read from a RID's query string.

``author=Orwell&limit=10&offset=20&order=-title`` is parsed into a :class:`Query`; its
:attr:`Query.normalized` form (sorted keys, default values left out) is what the get response
carries as ``query``. A query of defaults only normalizes to ``limit=<page size>``, not to ``""``:
gateways take an empty normalized query for the plain collection, which is not paged.
Anything unknown, repeated, malformed, too long or too large is ``system.invalidQuery``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode

from django.db.models import Model, QuerySet

from res_protocol import errors

ORDER, OFFSET, LIMIT = "order", "offset", "limit"
#: The longest query string read; a longer one is refused before it reaches the database.
MAX_QUERY_LENGTH = 2048

_M = TypeVar("_M", bound=Model)


@dataclass(frozen=True)
class Query:
    filters: tuple[tuple[str, str], ...]  # (query key, value), sorted by key
    order: str  # "" for the default ordering, else a field name, "-" in front for descending
    offset: int
    limit: int
    normalized: str

    def apply(
        self, queryset: QuerySet[_M], lookups: Mapping[str, str], default_ordering: Sequence[str]
    ) -> QuerySet[_M]:
        """Filter, order and slice ``queryset``; ``lookups`` maps query keys to ORM lookups."""
        queryset = queryset.filter(**{lookups[key]: value for key, value in self.filters})
        ordering = [self.order, *default_ordering] if self.order else list(default_ordering)
        return queryset.order_by(*ordering)[self.offset : self.offset + self.limit]


def parse_query(query: str, filters: Mapping[str, str], ordering: Sequence[str], max_limit: int) -> Query:
    """Parse and validate a query string against the filters and order fields a resource allows."""
    if len(query) > MAX_QUERY_LENGTH:
        raise errors.invalid_query(f"Invalid query: longer than {MAX_QUERY_LENGTH} characters")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise errors.invalid_query("Invalid query: malformed query string")
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise errors.invalid_query(f"Invalid query: {key} given more than once")
        if key not in filters and key not in (ORDER, OFFSET, LIMIT):
            raise errors.invalid_query(f"Invalid query: unknown parameter {key}")
        values[key] = value
    offset = _number(values, OFFSET, 0, minimum=0)
    limit = _number(values, LIMIT, max_limit, minimum=1)
    if limit > max_limit:
        raise errors.invalid_query(f"Invalid query: limit must not exceed {max_limit}")
    order = values.get(ORDER, "")
    if order and order.removeprefix("-") not in ordering:
        raise errors.invalid_query(f"Invalid query: cannot order by {order}")
    found = tuple(sorted((k, v) for k, v in values.items() if k in filters and v != ""))
    normal: list[tuple[str, str | int]] = list(found)
    if order:
        normal.append((ORDER, order))
    if offset:
        normal.append((OFFSET, offset))
    if limit != max_limit or not normal:
        normal.append((LIMIT, limit))  # never "": gateways take an empty query for the plain collection
    return Query(found, order, offset, limit, urlencode(sorted(normal)))


def _number(values: dict[str, str], key: str, default: int, minimum: int) -> int:
    raw = values.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise errors.invalid_query(f"Invalid query: {key} must be an integer of at least {minimum}")
    return int(raw)
