"""Login attempts: password checks take turns of their own, and failed logins are limited (as django-axes
does for Django sites).

- At most ``RES_BRIDGE["LOGIN_CONCURRENCY"]`` password checks (the auth methods in
  :data:`PASSWORD_METHODS`) run at once in a service process; the others wait for a turn while every other
  request, ``refresh`` and revocation included, goes ahead on the remaining threads.
- A username, or a connection, with ``LOGIN_FAILURE_LIMIT`` failed logins is refused without a password
  check until ``LOGIN_COOLOFF`` seconds have passed since its last failure: ``system.accessDenied``,
  "Too many failed logins: try again in N seconds". A successful login clears both counts.

The counts live in Django's ``default`` cache: a shared cache (Redis, Memcached) counts across service
processes, the local-memory default per process.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

from res_protocol import errors

from .conf import bridge_settings

#: Auth methods that check a password.
PASSWORD_METHODS = frozenset({"login"})


def _keys(username: str, cid: str) -> list[str]:
    digest = hashlib.sha256(username.encode()).hexdigest()  # any username makes a valid cache key
    return [f"res_bridge:login-failures:user:{digest}", f"res_bridge:login-failures:conn:{cid}"]


def check(username: str, cid: str) -> None:
    """Refuse an attempt for a username or connection at the failure limit."""
    limit = bridge_settings.LOGIN_FAILURE_LIMIT
    if limit and any(count >= limit for count in cache.get_many(_keys(username, cid)).values()):
        raise errors.ACCESS_DENIED(
            f"Too many failed logins: try again in {bridge_settings.LOGIN_COOLOFF} seconds"
        )


def failed(username: str, cid: str) -> None:
    """Count a failure for the username and the connection (the cool-off starts again)."""
    keys = _keys(username, cid)
    counts = cache.get_many(keys)
    cache.set_many({key: counts.get(key, 0) + 1 for key in keys}, bridge_settings.LOGIN_COOLOFF)


def succeeded(username: str, cid: str) -> None:
    cache.delete_many(_keys(username, cid))


__all__ = ["PASSWORD_METHODS", "check", "failed", "succeeded"]
