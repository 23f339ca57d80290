"""Auth methods on the auth resource (``auth.<AUTH_RID>.<method>``): log in through Django.

- ``login`` {username, password}: Django's ``authenticate()``.
- ``session``: the Django session named by the request's ``Cookie`` header (for header auth).
- ``token``: a DRF token from the ``Authorization: Token <key>`` header (for header auth).
- ``logout``: clears the connection's token.
- ``refresh``: called for each connection named in a ``system.tokenReset``: re-issues the token while its
  user is active and its session or DRF token still holds, and clears it otherwise.

A failed login leaves the token as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from django.http.cookie import parse_cookie
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from res_protocol import errors

from .tokens import Token, token_for, user_from_token

INVALID_CREDENTIALS = errors.ACCESS_DENIED.with_message("Invalid username or password")
NO_SESSION = errors.ACCESS_DENIED.with_message("No valid session")
NO_API_TOKEN = errors.ACCESS_DENIED.with_message("No valid API token")


def handle(request: Any) -> Any:
    """Answer an auth request: the result payload, or raise :class:`res_protocol.ResError`."""
    method = METHODS.get(request.method)
    if method is None:
        raise errors.METHOD_NOT_FOUND
    return method(request)


def login(request: Any) -> dict[str, Any]:
    params = request.params
    if not isinstance(params, dict):
        raise errors.invalid_params("Expected {username, password}")
    username, password = params.get("username"), params.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise errors.invalid_params("username and password must be non-empty strings")
    user = authenticate(None, username=username, password=password)
    if user is None:
        raise INVALID_CREDENTIALS
    return _log_in(request, user, token_for(user))


def session(request: Any) -> dict[str, Any]:
    key = _cookies(request).get(settings.SESSION_COOKIE_NAME)
    user = _session_user(key) if key else None
    if user is None:
        raise NO_SESSION
    return _log_in(request, user, token_for(user, session=key))


def token(request: Any) -> dict[str, Any]:
    key = _api_token_key(request)
    user = _api_token_user(key) if key else None
    if user is None:
        raise NO_API_TOKEN
    return _log_in(request, user, token_for(user, drf_token=key))


def logout(request: Any) -> None:
    request.set_token(None)


def refresh(request: Any) -> None:
    """Keep the current token while it still holds; clear it otherwise."""
    current = request.token
    if _still_holds(current):
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


def _still_holds(current: Any) -> bool:
    user = user_from_token(current)
    if not user.is_authenticated:
        return False
    if "session" in current:
        session_user = _session_user(current["session"])
        return session_user is not None and session_user.pk == user.pk
    if "drf_token" in current:
        api_user = _api_token_user(current["drf_token"])
        return api_user is not None and api_user.pk == user.pk
    return True


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


def _cookies(request: Any) -> dict[str, str]:
    return parse_cookie("; ".join(_header(request, "Cookie")))


def _session_user(key: Any) -> AbstractBaseUser | None:
    """The user logged in to the Django session ``key``, checked as Django checks a request's session."""
    if not isinstance(key, str):
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = get_user(request)
    return user if user.is_authenticated and user.is_active else None


def _api_token_key(request: Any) -> str | None:
    keyword = TokenAuthentication.keyword
    for value in _header(request, "Authorization"):
        parts = value.split()
        if len(parts) == 2 and parts[0] == keyword:
            return parts[1]
    return None


def _api_token_user(key: Any) -> AbstractBaseUser | None:
    if not isinstance(key, str):
        return None
    try:
        user, _token = TokenAuthentication().authenticate_credentials(key)
    except AuthenticationFailed:
        return None
    return user
