"""The gateway core's public names: each package's ``__all__`` lists exactly what it exports, each once."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import res_gateway.cache as cache
import res_gateway.connection as connection
import res_gateway.mq as mq
import res_gateway.mq.memory as memory

EXPORTS = {
    cache: [
        "COLLECTION",
        "MODEL",
        "Cache",
        "CacheEvent",
        "EventSubscription",
        "ResourceSubscription",
        "Subscriber",
        "client_collection",
        "client_value",
        "client_values",
        "event_message",
    ],
    connection: [
        "Connection",
        "RequestInfo",
        "Resource",
        "ResourceTree",
        "ServiceReply",
        "WriteBatch",
        "new_cid",
        "references",
    ],
    mq: [
        "MAX_SUBJECT_LENGTH",
        "NOT_CONNECTED",
        "NO_RESPONDERS",
        "MQClient",
        "MessageHandler",
        "NoResponders",
        "PendingRequest",
        "PendingRequests",
        "Responder",
        "StateHandler",
        "Subscription",
        "call_state_handler",
        "check_payload",
        "reply_of",
    ],
    memory: ["MAX_PAYLOAD", "BrokerHandler", "BrokerSubscription", "MemoryBroker", "MemoryClient", "matches"],
}

#: What the REST bridge calls on a connection, with the parameters it passes.
REST_INTERFACE = {
    "open": [],
    "close": [],
    "access": ["rid", "is_http"],
    "load": ["rid"],
    "call": ["rid", "method", "params", "is_http"],
    "auth": ["rid", "method", "params", "is_http"],
}


@pytest.mark.parametrize("module", EXPORTS, ids=lambda m: m.__name__)
def test_all_lists_the_exports_once(module: ModuleType) -> None:
    assert module.__all__ == EXPORTS[module]
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("res_gateway."), f"{name} is not the gateway's own"


def test_the_rest_interface_is_exported() -> None:
    for method, params in REST_INTERFACE.items():
        function = getattr(connection.Connection, method)
        assert inspect.iscoroutinefunction(function), method
        assert list(inspect.signature(function).parameters)[1:] == params, method
