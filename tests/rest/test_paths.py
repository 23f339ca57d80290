"""URL path <-> RID mapping, as resgate's apiEncoding does it."""

import pytest

from res_gateway.web.paths import path_to_rid, path_to_rid_method, request_path, rid_to_path


@pytest.mark.parametrize(
    ("path", "query", "rid"),
    [
        ("/api/test/model", "", "test.model"),
        ("/api/test/model", "q=foo&f=bar", "test.model?q=foo&f=bar"),
        ("/api/test/a%2Fb", "", "test.a/b"),
        ("/api/test/a%3Fb", "", "test.a?b"),  # an escaped ? starts a query, as in resgate
        ("/api/test/a%25b", "", "test.a%b"),
        ("/api/test/a%2Eb", "", "test.a.b"),  # only a literal dot is refused
        ("/api/test.model", "", None),
        ("/api/", "", None),
        ("/api/test//model", "", None),
        ("/api/test/m%C3%A5del", "", None),
        ("/api/test/%zz", "", None),
        ("/wrong/test/model", "", None),
        ("/api/test/model/", "", None),
    ],
)
def test_path_to_rid(path, query, rid):
    assert path_to_rid(path, query, "/api/") == rid


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/api/test/model/method", "", ("test.model", "method")),
        ("/api/test/model/method", "q=1", ("test.model?q=1", "method")),
        ("/api/action", "", None),
        ("/api/", "", None),
        ("/api/test.model/action", "", None),
        ("/api/test//model/action", "", None),
        ("/api/test/model/%C3%A4ction", "", None),
        ("/api/test/model/a%2Ab", "", None),  # * is not valid in a method
    ],
)
def test_path_to_rid_method(path, query, expected):
    assert path_to_rid_method(path, query, "/api/") == expected


@pytest.mark.parametrize(
    ("rid", "path"),
    [
        ("test.model", "/api/test/model"),
        ("test.model?q=a", "/api/test/model%3Fq=a"),
        ("test.model?q=a&b=c d", "/api/test/model%3Fq=a&b=c%20d"),
        ("test.a/b", "/api/test/a%2Fb"),
        ("test.a,b;c", "/api/test/a%2Cb%3Bc"),
        ("test.$&+:=@", "/api/test/$&+:=@"),
        ("", ""),
    ],
)
def test_rid_to_path(rid, path):
    assert rid_to_path(rid, "/api/") == path


@pytest.mark.parametrize("rid", ["test.model", "test.a/b", "test.a:b@c", "x.y?q=1&r=2"])
def test_href_leads_back_to_its_rid(rid):
    assert path_to_rid(request_path(rid_to_path(rid, "/api/")), "", "/api/") == rid


def test_percent_in_a_name_does_not_round_trip_as_in_resgate():
    # Go reads the decoded path when the raw one is in default escaping, then unescapes again.
    assert path_to_rid(request_path(rid_to_path("test.a%b", "/api/")), "", "/api/") is None


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("/api/test/model", "/api/test/model"),  # default escaping: the decoded path
        ("/api/test/a%20b", "/api/test/a b"),
        ("/api/test/a%2Fb", "/api/test/a%2Fb"),  # other escaping: the raw path
        ("/api/test/a%41", "/api/test/a%41"),
        ("/api/test/%zz", None),
    ],
)
def test_request_path(raw, path):
    assert request_path(raw) == path
