"""The result of an access request: may the token get the resource, and call which methods."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import internal_error


@dataclass(frozen=True, slots=True)
class Access:
    get: bool = False
    call: str = ""

    def can_call(self, method: str) -> bool:
        """Exact match against the comma-separated list; ``*`` allows every method."""
        if self.call == "*":
            return True
        return bool(self.call) and method in self.call.split(",")

    def to_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.get:
            result["get"] = True
        if self.call:
            result["call"] = self.call
        return result

    @classmethod
    def from_result(cls, result: Any) -> Access:
        """Parse an access result; a malformed one raises ``system.internalError``."""
        if result is None:
            return cls()
        if not isinstance(result, dict):
            raise internal_error("invalid access response")
        get = result.get("get", False)
        call = result.get("call", "")
        if get is None:
            get = False
        if call is None:
            call = ""
        if not isinstance(get, bool) or not isinstance(call, str):
            raise internal_error("invalid access response")
        return cls(get, call)
