"""Meta objects: parsing, canonical header keys, merging, protected headers, statuses."""

import pytest

from res_gateway.web.meta import Meta, canonical_key, merge_header


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("test-header", "Test-Header"),
        ("SET-COOKIE", "Set-Cookie"),
        ("x-pingother", "X-Pingother"),
        ("content-type", "Content-Type"),
        ("bad key", "bad key"),  # not a token: unchanged, as Go leaves it
    ],
)
def test_canonical_key(key, canonical):
    assert canonical_key(key) == canonical


def test_parse_canonicalizes_and_drops_malformed():
    meta = Meta.parse(
        {"status": 307, "header": {"test-header": ["a"], "Test-Header": ["b"], "Bad": "not a list"}}
    )
    assert meta.status == 307
    assert meta.header == {"Test-Header": ["a", "b"]}
    assert Meta.parse(None) == Meta()
    assert Meta.parse({"status": "307"}).status is None


def test_merge_later_wins_and_cookies_accumulate():
    auth = Meta.parse({"header": {"Test-Header": ["foo"], "Set-Cookie": ["id=foo"], "Test-Auth": ["a"]}})
    access = Meta.parse({"status": 404, "header": {"Test-Header": ["bar"], "Set-Cookie": ["id=bar"]}})
    call = Meta.parse({"header": {"Set-Cookie": ["x=1"]}})
    merged = auth.merge(access).merge(call)
    assert merged.status == 404
    assert merged.header == {
        "Test-Header": ["bar"],
        "Set-Cookie": ["id=foo", "id=bar", "x=1"],
        "Test-Auth": ["a"],
    }
    assert auth.header["Set-Cookie"] == ["id=foo"]  # merging builds a new meta


def test_merge_header_skips_protected():
    target = {"Access-Control-Allow-Origin": ["http://a"], "Content-Type": ["application/json"]}
    merge_header(
        target,
        {
            "Access-Control-Allow-Origin": ["evil"],
            "Access-Control-Allow-Credentials": ["true"],
            "Content-Type": ["text/html"],
            "Sec-Websocket-Protocol": ["x"],
            "Sec-Websocket-Extensions": ["x"],
            "Location": ["/x"],
        },
    )
    assert target == {
        "Access-Control-Allow-Origin": ["http://a"],
        "Content-Type": ["application/json"],
        "Location": ["/x"],
    }


@pytest.mark.parametrize(
    ("status", "direct", "kept"),
    [
        (None, False, None),
        (200, False, None),
        (206, False, None),
        (300, True, 300),
        (307, True, 307),
        (404, True, 404),
        (599, True, 599),
        (601, False, None),
    ],
)
def test_status_validation(status, direct, kept):
    meta = Meta(status)
    assert meta.is_direct is direct
    assert meta.validated().status == kept
