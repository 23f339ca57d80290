"""The REST bridge's and the shared HTTP helpers' public names are exactly those in ``__all__``, each
defined in its own package."""

import inspect
from types import ModuleType

import pytest

import res_gateway.http as http
import res_gateway.web as web

EXPORTS = {
    http: ["TreeEncoder"],
    web: [
        "PROTECTED_HEADERS",
        "Cors",
        "Meta",
        "RequestInfo",
        "canonical_key",
        "cors",
        "error_status",
        "merge_header",
        "path_to_rid",
        "path_to_rid_method",
        "preflight_headers",
        "request_header",
        "request_info",
        "request_path",
        "rid_to_path",
        "status_error",
    ],
}


@pytest.mark.parametrize("package", EXPORTS, ids=lambda p: p.__name__)
def test_all_lists_every_public_name_once(package: ModuleType) -> None:
    assert package.__all__ == EXPORTS[package]
    public = {name for name, value in vars(package).items() if not name.startswith("_")}
    assert public - set(EXPORTS[package]) == {
        name for name in public if isinstance(getattr(package, name), ModuleType)
    }, "a public name that is neither exported nor a submodule"


@pytest.mark.parametrize("package", EXPORTS, ids=lambda p: p.__name__)
def test_exports_are_defined_in_the_package(package: ModuleType) -> None:
    for name in EXPORTS[package]:
        value = getattr(package, name)
        if name.isupper():
            assert isinstance(value, frozenset | dict | tuple), name
        else:
            assert inspect.isclass(value) or inspect.isfunction(value), name
            assert value.__module__.startswith(package.__name__ + "."), name
