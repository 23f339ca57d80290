"""Encoding a loaded resource tree as the HTTP body: ``json`` (references as href objects) or ``jsonflat``.

The root is a plain object or array. Inside it, data values are unwrapped, soft references become
``{"href": ...}``, and hard references are expanded: in ``json`` as ``{"href", "model"|"collection"|
"error"}``, in ``jsonflat`` as the nested value (or error) itself. A reference back to a resource on
the current path (a cycle) is ``{"href": ...}`` in both; the same resource reached on two branches is
expanded twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from res_gateway.web.paths import rid_to_path
from res_protocol import errors
from res_protocol.codec import dumps

if TYPE_CHECKING:
    from res_gateway.connection import ResourceTree


class TreeEncoder:
    """Turns a :class:`ResourceTree` into plain JSON values for one encoding and API path."""

    def __init__(self, api_path: str, *, flat: bool = False) -> None:
        self.api_path = api_path
        self.flat = flat

    def encode(self, tree: ResourceTree) -> bytes:
        return dumps(self.value(tree))

    def value(self, tree: ResourceTree) -> Any:
        """The root resource as a JSON-ready object or array."""
        return self._resource(tree, tree.rid, [])

    def _href(self, rid: str) -> dict[str, str]:
        return {"href": rid_to_path(rid, self.api_path)}

    def _resource(self, tree: ResourceTree, rid: str, path: list[str]) -> Any:
        resource = tree.resources.get(rid)
        if resource is None:
            error = tree.errors.get(rid, errors.NOT_FOUND)
            return error.to_dict()
        path.append(rid)
        if isinstance(resource.value, list):  # a collection
            out: Any = [self._value(tree, v, path) for v in resource.value]
        else:
            out = {k: self._value(tree, v, path) for k, v in resource.value.items()}
        path.pop()
        return out

    def _value(self, tree: ResourceTree, value: Any, path: list[str]) -> Any:
        if type(value) is not dict:
            return value
        if "data" in value:
            return value["data"]
        rid = value["rid"]
        if "soft" in value or rid in path:
            return self._href(rid)
        nested = self._resource(tree, rid, path)
        if self.flat:
            return nested
        resource = tree.resources.get(rid)
        key = "error" if resource is None else resource.kind
        return {**self._href(rid), key: nested}
