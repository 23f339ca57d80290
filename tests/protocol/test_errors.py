"""Shared RES errors: raised only as fresh copies, so a refused request keeps nothing alive."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from res_protocol import ResError, errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("res_protocol", "res_gateway", "res_bridge", "library", "tests/interop")


def test_calling_an_error_gives_a_fresh_equal_copy():
    fresh = errors.ACCESS_DENIED()
    assert fresh is not errors.ACCESS_DENIED and type(fresh) is ResError
    assert fresh.to_dict() == {"code": "system.accessDenied", "message": "Access denied"}
    assert errors.ACCESS_DENIED("Try later").to_dict() == {
        "code": "system.accessDenied",
        "message": "Try later",
    }
    with_data = errors.invalid_params("Bad", {"field": "x"})
    assert with_data().to_dict() == {"code": "system.invalidParams", "message": "Bad", "data": {"field": "x"}}


def test_a_subclass_survives_the_copy():
    class Special(ResError):
        pass

    assert type(Special("x.y", "z")()) is Special


def test_raising_a_copy_leaves_the_shared_error_untouched():
    shared = ResError("test.shared", "Shared")
    for _ in range(3):
        try:
            raise ValueError("handled")
        except ValueError:
            with pytest.raises(ResError):
                raise shared()
    assert shared.__traceback__ is None and shared.__context__ is None


def _raises_of_stored_instances(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Raise) and node.exc is not None and not isinstance(node.exc, ast.Call):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_every_raise_creates_its_exception():
    """``raise SOME_ERROR`` of a kept instance chains each raise's traceback onto it (a leak per request)."""
    found = [
        hit
        for pkg in PACKAGES
        for path in sorted((ROOT / pkg).rglob("*.py"))
        for hit in _raises_of_stored_instances(path)
    ]
    assert found == []
