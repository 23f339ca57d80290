"""Auth methods through Django: login, session cookie, DRF token, logout and refresh."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token as ApiToken

from res_bridge import auth
from res_bridge.requests import Request
from res_bridge.tokens import fingerprint, token_for, user_from_token
from res_protocol import ResError, dumps, loads

pytestmark = pytest.mark.django_db

CID = "cid1"


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(fast_passwords: None) -> User:
    return User.objects.create_user("alice", password="demo", is_staff=True)


def auth_request(method: str, **payload: Any) -> Request:
    return Request.from_payload("auth", "django.auth", method, dumps({"cid": CID, **payload}))


def token_events(request: Request) -> list[Any]:
    assert all(subject == f"conn.{CID}.token" for subject, _ in request.outbox)
    return [loads(data) for _, data in request.outbox]


def alice_token(user: User, **credentials: str) -> dict[str, Any]:
    """The token expected for ``user``, with the fingerprint of each credential it came from."""
    return {
        "user_id": user.pk,
        "tid": f"user.{user.pk}",
        **{k: fingerprint(v) for k, v in credentials.items()},
    }


def test_login_sets_the_token_and_returns_the_user(alice: User) -> None:
    request = auth_request("login", params={"username": "alice", "password": "demo"}, token=None)
    result = auth.handle(request)
    assert result == {"user": {"id": alice.pk, "username": "alice", "is_staff": True}}
    token = alice_token(alice, password=alice.get_session_auth_hash())
    assert token_events(request) == [{"token": token, "tid": f"user.{alice.pk}"}]


@pytest.mark.parametrize(
    "params",
    [{"username": "alice", "password": "wrong"}, {"username": "nobody", "password": "demo"}],
)
def test_login_with_wrong_credentials_is_denied_and_keeps_the_token(alice: User, params: dict) -> None:
    request = auth_request("login", params=params, token={"user_id": 7, "tid": "user.7"})
    with pytest.raises(ResError) as raised:
        auth.handle(request)
    assert raised.value.code == "system.accessDenied"
    assert raised.value.message == "Invalid username or password"
    assert request.outbox == []


def test_login_of_an_inactive_user_is_denied(alice: User) -> None:
    User.objects.filter(pk=alice.pk).update(is_active=False)
    request = auth_request("login", params={"username": "alice", "password": "demo"})
    with pytest.raises(ResError, match="Invalid username or password"):
        auth.handle(request)
    assert request.outbox == []


@pytest.mark.parametrize(
    "params",
    [
        None,
        [],
        "alice",
        {},
        {"username": "alice"},
        {"password": "demo"},
        {"username": "", "password": "demo"},
        {"username": 1, "password": "demo"},
        {"username": "alice", "password": None},
    ],
)
def test_login_with_bad_params_is_invalid_params(alice: User, params: Any) -> None:
    request = auth_request("login", params=params)
    with pytest.raises(ResError) as raised:
        auth.handle(request)
    assert raised.value.code == "system.invalidParams"
    assert request.outbox == []


def test_unknown_method_is_method_not_found() -> None:
    with pytest.raises(ResError) as raised:
        auth.handle(auth_request("sudo"))
    assert raised.value.code == "system.methodNotFound"


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


@pytest.mark.parametrize("header_key", ["Cookie", "cookie"])
def test_session_logs_in_from_the_django_session_cookie(alice: User, header_key: str) -> None:
    key = session_cookie(alice)
    header = {header_key: [f"csrftoken=abc; {django_settings.SESSION_COOKIE_NAME}={key}"]}
    request = auth_request("session", header=header, isHttp=True)
    assert auth.handle(request) == {"user": {"id": alice.pk, "username": "alice", "is_staff": True}}
    assert token_events(request) == [{"token": alice_token(alice, session=key), "tid": f"user.{alice.pk}"}]


@pytest.mark.parametrize(
    "header",
    [{}, {"Cookie": ["csrftoken=abc"]}, {"Cookie": ["sessionid=doesnotexist"]}, {"Cookie": ["sessionid="]}],
)
def test_session_without_a_valid_session_is_denied(alice: User, header: dict) -> None:
    request = auth_request("session", header=header)
    with pytest.raises(ResError) as raised:
        auth.handle(request)
    assert (raised.value.code, raised.value.message) == ("system.accessDenied", "No valid session")
    assert request.outbox == []


def test_session_of_a_user_whose_password_changed_is_denied(alice: User) -> None:
    key = session_cookie(alice)
    alice.set_password("new password")
    alice.save()
    request = auth_request("session", header={"Cookie": [f"sessionid={key}"]})
    with pytest.raises(ResError, match="No valid session"):
        auth.handle(request)


def test_token_logs_in_from_a_drf_token(alice: User) -> None:
    api_token = ApiToken.objects.create(user=alice)
    request = auth_request("token", header={"Authorization": [f"Token {api_token.key}"]})
    assert auth.handle(request)["user"]["username"] == "alice"
    assert token_events(request) == [
        {"token": alice_token(alice, drf_token=api_token.key), "tid": f"user.{alice.pk}"}
    ]


@pytest.mark.parametrize(
    "header",
    [{}, {"Authorization": ["Token nope"]}, {"Authorization": ["Bearer KEY"]}, {"Authorization": ["Token"]}],
)
def test_token_without_a_valid_drf_token_is_denied(alice: User, header: dict) -> None:
    key = ApiToken.objects.create(user=alice).key
    header = {k: [v.replace("KEY", key) for v in vs] for k, vs in header.items()}
    request = auth_request("token", header=header)
    with pytest.raises(ResError) as raised:
        auth.handle(request)
    assert (raised.value.code, raised.value.message) == ("system.accessDenied", "No valid API token")
    assert request.outbox == []


def test_logout_clears_the_token(alice: User) -> None:
    request = auth_request("logout", token=alice_token(alice))
    assert auth.handle(request) is None
    assert token_events(request) == [{"token": None}]


def refreshed(token: Any, header: dict | None = None) -> list[Any]:
    request = auth_request("refresh", token=token, header=header or {})
    assert auth.handle(request) is None
    return token_events(request)


def cookie(key: str) -> dict[str, list[str]]:
    return {"Cookie": [f"{django_settings.SESSION_COOKIE_NAME}={key}"]}


def authorization(key: str) -> dict[str, list[str]]:
    return {"Authorization": [f"Token {key}"]}


def test_refresh_reissues_a_token_that_still_holds(alice: User) -> None:
    token = alice_token(alice)
    assert refreshed(token) == [{"token": token, "tid": f"user.{alice.pk}"}]
    key = session_cookie(alice)
    token = alice_token(alice, session=key)
    assert refreshed(token, cookie(key)) == [{"token": token, "tid": f"user.{alice.pk}"}]
    api_key = ApiToken.objects.create(user=alice).key
    token = alice_token(alice, drf_token=api_key)
    assert refreshed(token, authorization(api_key)) == [{"token": token, "tid": f"user.{alice.pk}"}]


def test_refresh_clears_a_login_token_once_the_password_changed(alice: User) -> None:
    token = alice_token(alice, password=alice.get_session_auth_hash())
    assert refreshed(token) == [{"token": token, "tid": f"user.{alice.pk}"}]
    alice.set_password("changed")
    alice.save()
    assert refreshed(token) == [{"token": None}]


def test_refresh_clears_a_token_whose_user_is_inactive_or_gone(alice: User) -> None:
    token = alice_token(alice)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert refreshed(token) == [{"token": None}]
    User.objects.filter(pk=alice.pk).delete()
    assert refreshed(token) == [{"token": None}]


def test_refresh_clears_a_token_whose_session_ended_or_is_not_the_connections(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    token = alice_token(alice, session=key)
    assert refreshed(token) == [{"token": None}]  # the connection's headers hold no session
    assert refreshed(token, cookie(session_cookie(alice))) == [{"token": None}]  # another session
    client.logout()
    assert refreshed(token, cookie(key)) == [{"token": None}]
    other_key = session_cookie(User.objects.create_user("mallory"))
    assert refreshed(alice_token(alice, session=other_key), cookie(other_key)) == [{"token": None}]


def test_refresh_clears_a_token_whose_api_token_was_deleted(alice: User) -> None:
    api_token = ApiToken.objects.create(user=alice)
    token = alice_token(alice, drf_token=api_token.key)
    assert refreshed(token) == [{"token": None}]
    api_token.delete()
    assert refreshed(token, authorization(api_token.key)) == [{"token": None}]


def test_tokens_hold_a_fingerprint_never_the_credential(alice: User) -> None:
    key = session_cookie(alice)
    request = auth_request("session", header=cookie(key))
    auth.handle(request)
    (event,) = token_events(request)
    assert event["token"]["session"] == fingerprint(key) != key
    assert key not in dumps(event).decode()


@pytest.mark.parametrize("token", [None, {"user_id": 1, "tid": "user.2"}, {"user_id": 1}, "user.1", 1])
def test_refresh_clears_tokens_that_are_not_ours(alice: User, token: Any) -> None:
    assert refreshed(token) == [{"token": None}]


def test_user_from_token(alice: User) -> None:
    assert user_from_token(token_for(alice)) == alice
    assert user_from_token(token_for(alice, session="abc")) == alice
    assert not user_from_token(None).is_authenticated
    assert not user_from_token({"user_id": alice.pk, "tid": "user.0"}).is_authenticated


# (Origin header, host of the request, CSRF_TRUSTED_ORIGINS, accepted)
ORIGIN_CASES = [
    (None, "site.test:8080", [], True),
    ("http://site.test:8080", "site.test:8080", [], True),
    ("http://SITE.test:8080", "site.test:8080", [], True),
    ("http://evil.test", "site.test:8080", [], False),
    ("http://site.test:9000", "site.test:8080", [], False),
    ("null", "site.test:8080", [], False),
    ("http://app.test", "site.test:8080", ["http://app.test"], True),
    ("https://app.test", "site.test:8080", ["http://app.test"], False),
    ("https://a.app.test", "site.test:8080", ["https://*.app.test"], True),
    ("https://evilapp.test", "site.test:8080", ["https://*.app.test"], False),
    ("https://site.test:8080", "site.test:8080", [], False),  # the scheme counts, as in Django
    ("HTTP://site.test:8080", "site.test:8080", [], False),
    ("site.test:8080", "site.test:8080", [], False),
]


@pytest.mark.parametrize(("origin", "host", "trusted", "accepted"), ORIGIN_CASES)
def test_session_cookies_are_taken_from_this_sites_pages_only(
    alice: User, settings: Any, origin: str | None, host: str, trusted: list[str], accepted: bool
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = trusted
    header = cookie(session_cookie(alice)) | ({"Origin": [origin]} if origin else {})
    request = auth_request("session", header=header, host=host)
    if accepted:
        assert auth.handle(request)["user"]["username"] == "alice"
    else:
        with pytest.raises(ResError) as raised:
            auth.handle(request)
        assert raised.value.code == "system.accessDenied"
        assert "this site's own pages" in raised.value.message
        assert request.outbox == []


@pytest.mark.parametrize(
    ("site", "origin", "accepted"),
    [
        ({"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}, "https://site.test", True),
        ({"SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https")}, "http://site.test", False),
        ({"SESSION_COOKIE_SECURE": True}, "https://site.test", True),
        ({"SESSION_COOKIE_SECURE": True}, "http://site.test", False),
    ],
)
def test_an_https_site_takes_https_pages_only(
    alice: User, settings: Any, site: dict[str, Any], origin: str, accepted: bool
) -> None:
    for name, value in site.items():
        setattr(settings, name, value)
    header = cookie(session_cookie(alice)) | {"Origin": [origin], "X-Forwarded-Proto": ["https"]}
    request = auth_request("session", header=header, host="site.test")
    if accepted:
        assert auth.handle(request)["user"]["username"] == "alice"
    else:
        with pytest.raises(ResError, match="this site's own pages"):
            auth.handle(request)
