"""The REST bridge's public names are exactly those in ``__all__``, each defined in the bridge."""

import inspect
from types import ModuleType

import res_gateway.http as http

EXPORTS = [
    "PROTECTED_HEADERS",
    "Cors",
    "Meta",
    "TreeEncoder",
    "canonical_key",
    "cors",
    "error_status",
    "merge_header",
    "path_to_rid",
    "path_to_rid_method",
    "preflight_headers",
    "request_path",
    "rid_to_path",
    "status_error",
]


def test_all_lists_every_public_name_once() -> None:
    assert http.__all__ == EXPORTS
    public = {name for name, value in vars(http).items() if not name.startswith("_")}
    assert public - set(EXPORTS) == {
        name for name in public if isinstance(getattr(http, name), ModuleType)
    }, "a public name that is neither exported nor a submodule"


def test_exports_are_defined_in_the_bridge() -> None:
    for name in EXPORTS:
        value = getattr(http, name)
        if name.isupper():
            assert isinstance(value, frozenset | dict | tuple), name
        else:
            assert inspect.isclass(value) or inspect.isfunction(value), name
            assert value.__module__.startswith("res_gateway.http."), name
