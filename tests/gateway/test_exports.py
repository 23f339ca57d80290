"""The gateway core's public names: each package's ``__all__`` lists exactly what it exports."""

from __future__ import annotations

import pytest

import res_gateway.cache as cache
import res_gateway.connection as connection
import res_gateway.mq as mq

REST_INTERFACE = ["Connection", "RequestInfo", "ServiceReply", "Resource", "ResourceTree", "LATEST"]


@pytest.mark.parametrize("module", [cache, connection, mq])
def test_all_names_exist_once(module):
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        assert hasattr(module, name), name


def test_cache_exports():
    assert set(cache.__all__) == {
        name for name in dir(cache) if not name.startswith("_") and name[0].isupper()
    } | {
        "client_collection",
        "client_value",
        "client_values",
        "event_message",
    }


def test_rest_interface_is_exported():
    assert set(REST_INTERFACE) <= set(connection.__all__)
    for method in ("access", "load", "call", "auth", "close", "open"):
        assert callable(getattr(connection.Connection, method))
