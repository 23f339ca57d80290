import pytest

from res_protocol import PROTOCOL_VERSION, errors, parse_version
from res_protocol.version import LATEST, LEGACY, MODERN, V120


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("1.2.3", 1_002_003),
        ("1.999.0", 1_999_000),
        ("+1.02.-0", 1_002_000),
        ("1.0.0", 1_000_000),
    ],
)
def test_a_version_is_an_integer_that_compares(text: str, version: int) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize("text", ["1.2", "1.2.3.4", "1.2.x", "1.1000.0", "1.2. 3", "", None, 1002003])
def test_a_malformed_version_is_invalid_params(text: object) -> None:
    with pytest.raises(errors.ResError) as raised:
        parse_version(text)
    assert raised.value.code == errors.CODE_INVALID_PARAMS


@pytest.mark.parametrize("text", ["2.0.0", "0.9.9", "-1.2.3"])
def test_another_major_version_is_unsupported(text: str) -> None:
    with pytest.raises(errors.ResError) as raised:
        parse_version(text)
    assert raised.value.code == errors.CODE_UNSUPPORTED_PROTOCOL


def test_the_versions_are_ordered_as_the_protocol_grew() -> None:
    assert PROTOCOL_VERSION == "1.2.3"
    assert LEGACY < V120 < MODERN < LATEST == parse_version(PROTOCOL_VERSION)
