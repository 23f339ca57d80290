"""The access revision: a public model, ``<AUTH_RID>.access`` = ``{"revision": ...}``, that changes whenever
access may have changed for anyone.

A page that was denied a resource holds no subscription that a ``system.reset`` could re-check, so nothing
would tell it that access came back. Subscribed to this model, it hears of every rule change and every
change to a user's groups, permissions or flags, and can try again.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS

from res_protocol import Access, dumps

from . import outbox
from .conf import bridge_settings
from .models import RulesRevision

#: Everybody may get the model; nobody may call it.
ACCESS = Access(get=True)


def access_rid() -> str:
    return f"{bridge_settings.AUTH_RID}.access"


def model() -> dict[str, Any]:
    """The model as a get request returns it."""
    return {"revision": RulesRevision.current()}


def bump() -> None:
    """A new revision, announced with a change event (through the outbox) once the transaction commits."""
    value = RulesRevision.bump()
    message = (f"event.{access_rid()}.change", dumps({"values": {"revision": value}}))
    outbox.write(DEFAULT_DB_ALIAS, outbox.encode([message]))
