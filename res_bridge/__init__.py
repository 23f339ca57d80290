"""RES service for Django models: resources, events, access and auth over NATS.

- Declare resources in an app's ``resources.py`` (imported at start-up): a :class:`ModelResource`
  subclass per model, registered with :func:`register` (see ``res_bridge.resources``) in the default
  registry, ``res_bridge.registry.registry``.
- Serve them: ``manage.py runresservice``, or ``await Service().start()`` on any running loop
  (``Service().start_on(loop)`` from synchronous code).
- Every committed change of a served table becomes events, whatever wrote it: database triggers
  capture it in an outbox, and a relay (in the service, or ``manage.py resoutbox relay``) sends it
  (``res_bridge.triggers``, ``res_bridge.relay``). :func:`announce_change` / :func:`announce_reset`
  still send what they announce.
- Publish from any code: :func:`publish`, :func:`publish_event`, :func:`publish_reaccess`,
  :func:`publish_reset`, :func:`publish_token_reset`, :func:`flush`.
- Settings live in ``RES_BRIDGE`` (``res_bridge.conf``).

The public names are imported lazily, so this package can be imported before Django's apps are ready.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ModelResource": "resources",
    "call_method": "resources",
    "register": "registry",
    "Request": "requests",
    "ResourceResponse": "requests",
    "Service": "service",
    "announce_change": "events",
    "announce_reset": "events",
    "publish": "publisher",
    "publish_event": "publisher",
    "publish_reaccess": "publisher",
    "publish_reset": "publisher",
    "publish_token_reset": "publisher",
    "flush": "publisher",
    "bridge_settings": "conf",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'res_bridge' has no attribute {name!r}")
    return getattr(import_module(f"res_bridge.{module}"), name)
