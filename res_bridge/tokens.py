"""Connection tokens for Django users: their shape, their tid, and the user a token stands for.

A token is ``{"user_id": <pk>, "tid": "user.<pk>"}`` plus a fingerprint of what it came from: the user's
password (``"password"``, from Django's session auth hash), a Django session (``"session"``) or a DRF token
(``"drf_token"``); never the credential itself, as tokens travel to every service on the bus. Every
connection of a user shares the tid, so one ``system.tokenReset`` reaches them all.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac

from .conf import bridge_settings

Token = dict[str, Any]


def refresh_subject() -> str:
    """The subject gateways call for each connection named in a ``system.tokenReset``."""
    return f"auth.{bridge_settings.AUTH_RID}.refresh"


def tid_for(user_id: Any) -> str:
    return f"user.{user_id}"


def fingerprint(credential: str) -> str:
    """A keyed hash of a credential: it tells the credential again, and cannot be used in its place."""
    return salted_hmac("res_bridge.tokens.fingerprint", credential, algorithm="sha256").hexdigest()


def token_for(user: AbstractBaseUser, **credentials: str) -> Token:
    """The token for ``user``, with the fingerprint of each credential it came from."""
    return {
        "user_id": user.pk,
        "tid": tid_for(user.pk),
        **{k: fingerprint(v) for k, v in credentials.items()},
    }


def user_id_from_token(token: Any) -> Any:
    """The user id a well-formed token names (its tid must match), else ``None``."""
    if not isinstance(token, dict):
        return None
    user_id = token.get("user_id")
    if user_id is None or isinstance(user_id, bool | dict | list) or token.get("tid") != tid_for(user_id):
        return None
    return user_id


def user_from_token(token: Any) -> AbstractBaseUser | AnonymousUser:
    """The active user a token stands for; anybody else (no token, unknown or inactive user) is anonymous."""
    user_id = user_id_from_token(token)
    if user_id is None:
        return AnonymousUser()
    try:
        user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    except (ValueError, TypeError, ValidationError):
        user = None
    return user or AnonymousUser()
