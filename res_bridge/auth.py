"""Auth methods on the auth resource (``auth.<AUTH_RID>.<method>``): log in through Django.

- ``login`` {username, password}: Django's ``authenticate()``, with failures limited (``logins.py``).
- ``session``: the Django session named by the request's ``Cookie`` header (for header auth, or a
  WebSocket whose upgrade request carried the cookie), from this site's pages only (checked by ``Origin``,
  scheme included, against the site and ``CSRF_TRUSTED_ORIGINS``, as Django's CSRF check does).
- ``token``: a DRF token from the ``Authorization: Token <key>`` header (with ``rest_framework.authtoken``).
- ``logout``: clears the connection's token.
- ``refresh``: called for each connection named in a ``system.tokenReset``: re-issues the token while its
  user is active and what it came from still holds: the user's password (as a Django session would), the
  session or the DRF token (still in the connection's headers); clears it otherwise.

A failed login leaves the token as it was. Tokens never carry a credential, only its fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate, get_user
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare
from django.utils.http import is_same_domain
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from res_protocol import ResError, errors

from . import logins
from .tokens import Token, fingerprint, token_for, user_from_token


def handle(request: Any) -> Any:
    """Answer an auth request: the result payload, or raise :class:`res_protocol.ResError`."""
    method = METHODS.get(request.method)
    if method is None:
        raise errors.METHOD_NOT_FOUND()
    return method(request)


def login(request: Any) -> dict[str, Any]:
    params = request.params
    if not isinstance(params, dict):
        raise errors.invalid_params("Expected {username, password}")
    username, password = params.get("username"), params.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise errors.invalid_params("username and password must be non-empty strings")
    logins.check(username, request.cid)
    user = authenticate(None, username=username, password=password)
    if user is None:
        logins.failed(username, request.cid)
        raise errors.ACCESS_DENIED("Invalid username or password")
    logins.succeeded(username, request.cid)
    return _log_in(request, user, token_for(user, password=user.get_session_auth_hash()))


def session(request: Any) -> dict[str, Any]:
    if not _same_site(request):
        raise errors.ACCESS_DENIED.with_message(
            "Session cookies are accepted from this site's own pages only"
        )
    return SESSION.log_in(request)


def token(request: Any) -> dict[str, Any]:
    return API_TOKEN.log_in(request)


def logout(request: Any) -> None:
    request.set_token(None)


def refresh(request: Any) -> None:
    """Keep the current token while it still holds; clear it otherwise."""
    current = request.token
    if _still_holds(request, current):
        request.set_token(current, current["tid"])
    else:
        request.set_token(None)


METHODS: dict[str, Callable[[Any], Any]] = {
    "login": login,
    "session": session,
    "token": token,
    "logout": logout,
    "refresh": refresh,
}


def user_payload(user: AbstractBaseUser) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.get_username(),
        "is_staff": bool(getattr(user, "is_staff", False)),
    }


def _log_in(request: Any, user: AbstractBaseUser, new_token: Token) -> dict[str, Any]:
    request.set_token(new_token, new_token["tid"])
    return {"user": user_payload(user)}


@dataclass(frozen=True)
class HeaderCredential:
    """A credential found in the request's headers: a Django session cookie, a DRF token."""

    name: str  # its key in the token, holding its fingerprint
    read: Callable[[Any], str | None]  # the credential in a request's headers
    user_of: Callable[[str], AbstractBaseUser | None]  # the active user it is valid for
    denied: ResError

    def log_in(self, request: Any) -> dict[str, Any]:
        key = self.read(request)
        user = self.user_of(key) if key else None
        if key is None or user is None:
            raise self.denied()
        return _log_in(request, user, token_for(user, **{self.name: key}))

    def still_holds(self, request: Any, current: dict[str, Any], user: AbstractBaseUser) -> bool:
        key = self.read(request)
        if not key or not constant_time_compare(fingerprint(key), str(current[self.name])):
            return False
        valid_for = self.user_of(key)
        return valid_for is not None and valid_for.pk == user.pk


def _still_holds(request: Any, current: Any) -> bool:
    user = user_from_token(current)
    if not user.is_authenticated:
        return False
    if "password" in current and not constant_time_compare(
        fingerprint(user.get_session_auth_hash()), str(current["password"])
    ):
        return False  # the password changed since this login
    credential = next((c for c in CREDENTIALS if c.name in current), None)
    return credential is None or credential.still_holds(request, current, user)


def _header(request: Any, name: str) -> list[str]:
    """The values of one request header, whatever the case of its key."""
    header = request.header if isinstance(request.header, dict) else {}
    name = name.lower()
    return [
        value
        for key, values in header.items()
        if key.lower() == name and isinstance(values, list)
        for value in values
        if isinstance(value, str)
    ]


def _same_site(request: Any) -> bool:
    """Whether a browser sent the request from this site, as Django's CSRF check tells it by ``Origin``.

    A page on another site can open a WebSocket that carries this site's cookies; it must not log in with
    them. Clients that send no ``Origin`` (not browsers) are not such pages. The scheme counts, as in
    Django: ``https://host`` is another origin than ``http://host``.
    """
    origins = _header(request, "Origin")
    if not origins:
        return True
    scheme, sep, netloc = origins[0].partition("://")
    if not sep:
        return False
    if scheme == _scheme(request) and netloc.lower() == request.host.lower():
        return True
    for trusted in map(urlsplit, settings.CSRF_TRUSTED_ORIGINS):
        if trusted.scheme != scheme:
            continue
        if trusted.netloc == netloc:
            return True
        if trusted.netloc.startswith("*.") and is_same_domain(netloc, trusted.netloc[1:]):
            return True
    return False


def _scheme(request: Any) -> str:
    """The site's scheme as Django's ``request.is_secure()`` tells it: ``SECURE_PROXY_SSL_HEADER`` when set
    (a TLS proxy in front), else ``https`` when session cookies only travel over it."""
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        name, secure = proxy
        header = name.removeprefix("HTTP_").replace("_", "-")
        return "https" if secure in _header(request, header) else "http"
    return "https" if settings.SESSION_COOKIE_SECURE else "http"


def _session_key(request: Any) -> str | None:
    return parse_cookie("; ".join(_header(request, "Cookie"))).get(settings.SESSION_COOKIE_NAME) or None


def _session_user(key: str) -> AbstractBaseUser | None:
    """The user logged in to the Django session ``key``, checked as Django checks a request's session."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = get_user(request)
    return user if user.is_authenticated and user.is_active else None


def _api_token_key(request: Any) -> str | None:
    for value in _header(request, "Authorization"):
        parts = value.split()
        if len(parts) == 2 and parts[0] == TokenAuthentication.keyword:
            return parts[1]
    return None


def _api_token_user(key: str) -> AbstractBaseUser | None:
    if not apps.is_installed("rest_framework.authtoken"):
        return None
    try:
        user: AbstractBaseUser = TokenAuthentication().authenticate_credentials(key)[0]
    except AuthenticationFailed:
        return None
    return user


SESSION = HeaderCredential(
    "session", _session_key, _session_user, errors.ACCESS_DENIED.with_message("No valid session")
)
API_TOKEN = HeaderCredential(
    "drf_token", _api_token_key, _api_token_user, errors.ACCESS_DENIED.with_message("No valid API token")
)
CREDENTIALS = (SESSION, API_TOKEN)
