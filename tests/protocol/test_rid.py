import pytest

from res_protocol import Pattern, compile_patterns, expand_cid, is_valid_part, is_valid_rid, split_rid


@pytest.mark.parametrize(
    "rid,valid",
    [
        ("test", True),
        ("test.model", True),
        ("test.model._hej_", True),
        ("test.model.{cid}", True),
        ("test.model?q=a b.c", True),
        ("test.model?", True),
        ("", False),
        (".test", False),
        ("test.", False),
        ("test..model", False),
        ("test.*", False),
        ("test.>", False),
        ("täst", False),
        ("test model", False),
        ("?q", False),
        ("test.?q", False),
    ],
)
def test_is_valid_rid(rid, valid):
    assert is_valid_rid(rid) is valid


def test_rid_query_not_allowed():
    assert not is_valid_rid("test.model?q", allow_query=False)
    assert is_valid_rid("test.model", allow_query=False)


@pytest.mark.parametrize(
    "part,valid", [("set", True), ("a-b_c", True), ("", False), ("a.b", False), ("a?", False)]
)
def test_is_valid_part(part, valid):
    assert is_valid_part(part) is valid


@pytest.mark.parametrize(
    "pattern,name,match",
    [
        ("test", "test", True),
        ("test", "test.model", False),
        ("test.*", "test.model", True),
        ("test.*", "test.model.foo", False),
        ("test.>", "test.model.foo", True),
        ("test.>", "test", False),
        ("*.model", "test.model", True),
        ("test.*.foo", "test.model.foo", True),
    ],
)
def test_pattern_matches(pattern, name, match):
    assert Pattern(pattern).matches(name) is match


def test_invalid_patterns_are_skipped():
    assert [p.pattern for p in compile_patterns(["a.>", "a.>.b", "", "a.b*", "a?b", 3, "ok"])] == [
        "a.>",
        "ok",
    ]


def test_split_and_expand():
    assert split_rid("a.b?x=1?2") == ("a.b", "x=1?2")
    assert split_rid("a.b") == ("a.b", "")
    assert expand_cid("conn.{cid}.x?c={cid}", "abc") == "conn.abc.x?c=abc"
